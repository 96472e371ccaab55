/// A probe: what one check mode measures, judged by its evaluator (nagiosplugin's Resource and
/// Evaluator together). It asks the shared ``PipelineReadings`` for what it needs and hands that
/// to the mode's pure evaluator. A mode run alone runs one probe; `all` and the status page run
/// several over one set of readings, so each queue is walked and the journal read once per run.
///
/// Each mode's probe is a static function next to its evaluator (`CheckProbe.backlog(…)` in
/// `BacklogCheck.swift`), built from the mode's options (thresholds parsed, defaults applied)
/// before it runs: bad options are errors before anything is read.
public struct CheckProbe {
    /// The mode's name: `all`'s part and the status page's row (`backlog`, `clamd`, `probe`, …).
    public let mode: String
    /// How far back it reads processed files (0: it reads none). A run of several probes reads
    /// the history once, for the longest window.
    public let historyWindow: Double
    private let body: (PipelineReadings) throws -> CheckReport

    public init(mode: String, historyWindow: Double = 0, _ body: @escaping (PipelineReadings) throws -> CheckReport) {
        self.mode = mode
        self.historyWindow = historyWindow
        self.body = body
    }

    public func run(_ readings: PipelineReadings) throws -> CheckReport { try body(readings) }
}

/// The clamd daemons a run talks to: the pool, a client each (with the run's time limits), and
/// how many must answer.
public struct ClamdTargets: Sendable {
    public var pool: ClamdPool
    public var clients: [ClamdClient]
    public var minUp: Int

    public init(pool: ClamdPool, clients: [ClamdClient], minUp: Int) {
        self.pool = pool
        self.clients = clients
        self.minUp = minUp
    }

    /// One client per daemon, each with its own endpoint: all of them must answer.
    public init(clients: [ClamdClient]) throws(ClamdError) {
        self.init(pool: try ClamdPool(clients.map(\.endpoint)), clients: clients, minUp: clients.count)
    }

    public var names: [String] { pool.endpoints.map(\.description) }
}

/// What the probes of one run read, each thing read once, when a probe first asks for it, naming
/// each step through `phase` (the watchdog's timeout message says which step was running).
///
/// Not thread-safe: one run, one thread (the daemons of a pool are asked concurrently inside).
public final class PipelineReadings {
    public let now: Double
    /// The verbosity the evaluators see (`all` runs its parts at 0).
    public let verbosity: Int
    /// How many of the oldest files each queue reading keeps.
    public let listTop: Int
    public let threads: Int
    public let databaseDirectory: String
    public let phase: (String) -> Void

    private let loadLayout: () throws -> PipelineLayout
    private let selectQueues: (PipelineLayout) throws -> [QueueDefinition]
    private let loadClamd: () throws -> ClamdTargets
    /// A journal read shared with other runs (the status page reads it once for every queue).
    private let sharedJournal: Result<JournalRead, PipelineError>??
    /// With several probes: the history is read once for this window and each probe gets its part.
    private var sharedWindow: Double = 0

    private var layoutValue: PipelineLayout?
    private var queuesValue: [QueueDefinition]?
    private var queueReadingsValue: [QueueReading]?
    private var historyValue: ProcessingHistory?
    private var clamdValue: ClamdTargets?
    private var observationsValue: [ClamdObservation]?
    private var inventoryValue: Result<SignatureDatabaseInventory, SignatureDatabaseError>?

    public init(now: Double, verbosity: Int = 0, listTop: Int = 0, threads: Int = 2, databaseDirectory: String,
                layout: @escaping () throws -> PipelineLayout, queues: @escaping (PipelineLayout) throws -> [QueueDefinition],
                clamd: @escaping () throws -> ClamdTargets, phase: @escaping (String) -> Void = { _ in }) {
        self.now = now
        self.verbosity = verbosity
        self.listTop = listTop
        self.threads = threads
        self.databaseDirectory = databaseDirectory
        self.loadLayout = layout
        self.selectQueues = queues
        self.loadClamd = clamd
        self.sharedJournal = nil
        self.phase = phase
    }

    /// Readings of a layout already loaded, `queues` of it; `journal`, when given, is the scan
    /// journal already read (since the longest window) by the caller.
    public init(now: Double, layout: PipelineLayout, queues: [QueueDefinition], clamd: ClamdTargets?, databaseDirectory: String,
                listTop: Int, threads: Int, journal: Result<JournalRead, PipelineError>?? = nil) {
        self.now = now
        self.verbosity = 0
        self.listTop = listTop
        self.threads = threads
        self.databaseDirectory = databaseDirectory
        self.loadLayout = { layout }
        self.selectQueues = { _ in queues }
        self.loadClamd = {
            guard let clamd else { throw ClamdError(.invalidEndpoint, "no clamd endpoint configured") }
            return clamd
        }
        self.sharedJournal = journal
        self.phase = { _ in }
        self.layoutValue = layout
        self.queuesValue = queues
    }

    /// Runs one probe: its history is read for its own window.
    public func run(_ probe: CheckProbe) throws -> CheckReport {
        try probe.run(self)
    }

    /// Runs `probes` in order over these readings (the history read once, for the longest window).
    public func run(_ probes: [CheckProbe]) throws -> [(mode: String, report: CheckReport)] {
        sharedWindow = probes.map(\.historyWindow).max() ?? 0
        return try probes.map { ($0.mode, try $0.run(self)) }
    }

    /// Runs `probes` in order, each one's report or error (the status page: one part failing does
    /// not stop the others).
    public func runEach(_ probes: [CheckProbe]) -> [(mode: String, result: Result<CheckReport, any Error>)] {
        sharedWindow = probes.map(\.historyWindow).max() ?? 0
        return probes.map { probe in (probe.mode, Result { try probe.run(self) }) }
    }

    public func layout() throws -> PipelineLayout {
        if let layoutValue { return layoutValue }
        phase("loading the pipeline layout")
        let layout = try loadLayout()
        layoutValue = layout
        return layout
    }

    /// The queues selected (`--queue`), in the order asked.
    public func queues() throws -> [QueueDefinition] {
        if let queuesValue { return queuesValue }
        let queues = try selectQueues(try layout())
        queuesValue = queues
        return queues
    }

    /// Each selected queue walked, naming each one as the phase.
    public func queueReadings() throws -> [QueueReading] {
        if let queueReadingsValue { return queueReadingsValue }
        let layout = try layout()
        let options = SnapshotOptions(ageSource: layout.ageSource, topN: listTop, olderThan: [], threads: threads)
        var readings: [QueueReading] = []
        for queue in try queues() {
            phase("reading queue \(queue.name) (\(queue.incoming))")
            readings.append(QueueReading.take(queue, now: now, options: options))
        }
        queueReadingsValue = readings
        return readings
    }

    /// What was processed within `window` (``ProcessingHistory``: the scan journal ∪ the outcome
    /// trees), of `outcomes`.
    public func history(window: Double, outcomes: [Outcome] = Outcome.allCases) throws -> ProcessingHistory {
        let layout = try layout()
        let queues = try queues()
        let options = SnapshotOptions(ageSource: layout.ageSource, topN: 0, olderThan: [], threads: threads)
        guard sharedWindow > 0 else {
            return ProcessingHistory.read(journal: ScanJournal(layout: layout), queues: queues, outcomes: outcomes, now: now,
                                          window: window, options: options, phase: phase)
        }
        let history: ProcessingHistory
        if let historyValue {
            history = historyValue
        } else if let sharedJournal {
            let trees = ProcessingHistory.readTrees(queues: queues, now: now, window: sharedWindow, options: options, phase: phase)
            history = ProcessingHistory.combine(journal: sharedJournal, trees: trees, queues: queues.map(\.name), now: now, since: now - sharedWindow)
        } else {
            history = ProcessingHistory.read(journal: ScanJournal(layout: layout), queues: queues, now: now, window: sharedWindow,
                                             options: options, phase: phase)
        }
        historyValue = history
        return history.within(since: now - window, outcomes: Set(outcomes))
    }

    /// Each selected queue's `drain --watch` heartbeat file, when there is one.
    public func watchStates() throws -> [(queue: String, state: Result<WatchState?, PipelineError>)] {
        let directory = try layout().stateDirectory
        return try queues().map { queue in
            let path = WatchState.path(stateDirectory: directory, queue: queue.name)
            do throws(PipelineError) { return (queue.name, .success(try WatchState.load(path: path))) } catch { return (queue.name, .failure(error)) }
        }
    }

    /// The clamd daemons (`--socket`/`--tcp`, the layout file's, or the default socket).
    public func clamd() throws -> ClamdTargets {
        if let clamdValue { return clamdValue }
        let targets = try loadClamd()
        clamdValue = targets
        return targets
    }

    /// Every daemon observed (PING, then VERSION and STATS: ``ClamdObservation/take(_:configuration:phase:)``),
    /// a pool's all at once; `configuration` goes with a single daemon's observation.
    public func clamdObservations(configuration: ClamdConfigurationReading = .notRead) throws -> [ClamdObservation] {
        if let observationsValue { return observationsValue }
        let targets = try clamd()
        let observations: [ClamdObservation]
        if targets.clients.count > 1 {
            phase("asking \(targets.clients.count) clamd (\(targets.names.joined(separator: ", "))) for PING, VERSION and STATS")
            observations = ClamdPool.concurrently(targets.clients) { ClamdObservation.take($0) }
        } else {
            observations = [ClamdObservation.take(targets.clients[0], configuration: configuration, phase: phase)]
        }
        observationsValue = observations
        return observations
    }

    /// Every daemon's VERSION (a pool's all at once).
    public func clamdVersions() throws -> [Result<ClamdVersion, ClamdError>] {
        let targets = try clamd()
        if targets.clients.count > 1 {
            phase("asking \(targets.clients.count) clamd for VERSION at once")
            return ClamdPool.concurrently(targets.clients) { client in Result { () throws(ClamdError) in try client.version() } }
        }
        phase("asking clamd \(targets.clients[0].endpoint) for VERSION")
        return [Result { () throws(ClamdError) in try targets.clients[0].version() }]
    }

    /// The signature database headers in ``databaseDirectory``.
    public func signatureInventory() -> Result<SignatureDatabaseInventory, SignatureDatabaseError> {
        if let inventoryValue { return inventoryValue }
        phase("reading the signature database headers in \(databaseDirectory)")
        let inventory = Result { () throws(SignatureDatabaseError) in try SignatureDatabaseInventory.read(directory: databaseDirectory) }
        inventoryValue = inventory
        return inventory
    }
}

extension ClamdError {
    /// A malformed endpoint is a bad argument (UNKNOWN, exit 3), not the service's failure.
    public var isArgumentError: Bool { code == .invalidEndpoint }
}

/// Times `body` on the monotonic clock: its value and the seconds it took, or its error.
public func measured<T>(_ body: () throws(ClamdError) -> T) -> Result<(T, Double), ClamdError> {
    let start = MonotonicClock.now()
    do {
        let value = try body()
        return .success((value, MonotonicClock.now() - start))
    } catch {
        return .failure(error)
    }
}
