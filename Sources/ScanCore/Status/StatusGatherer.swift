import Dispatch

/// What the status page looks at, and how its commands are spelled.
public struct StatusSources: Sendable {
    public var layout: PipelineLayout
    public var queues: [QueueDefinition]
    /// nil: no clamd is watched (the part says so). With a pool, its first daemon.
    public var clamd: ClamdClient?
    /// Every daemon watched (a pool: one row each on the page); `[clamd]` unless given.
    public var clamdPool: [ClamdClient]
    public var databaseDirectory: String
    public var rescanLock: String
    /// Options every runbook command repeats so it acts on this pipeline (`--config FILE`, or
    /// `--root DIR --state-dir DIR`).
    public var commandOptions: [String]
    /// Options that name the clamd endpoint (`--socket PATH` or `--tcp HOST:PORT`).
    public var clamdOptions: [String]
    public var threads: Int
    /// How many of the oldest files each queue lists.
    public var topN: Int

    public init(layout: PipelineLayout, queues: [QueueDefinition], clamd: ClamdClient?, databaseDirectory: String, rescanLock: String,
                commandOptions: [String], clamdOptions: [String], threads: Int = 2, topN: Int = 5, clamdPool: [ClamdClient]? = nil) {
        self.layout = layout
        self.queues = queues
        self.clamd = clamd ?? clamdPool?.first
        self.clamdPool = clamdPool ?? clamd.map { [$0] } ?? []
        self.databaseDirectory = databaseDirectory
        self.rescanLock = rescanLock
        self.commandOptions = commandOptions
        self.clamdOptions = clamdOptions
        self.threads = threads
        self.topN = topN
    }

    /// The thresholds the page judges by: the layout file's, else ``PipelineThresholds/recommended``.
    public var thresholds: PipelineThresholds { layout.thresholds ?? .recommended }
}

/// Gathers a ``PipelineStatus``: the same readings the check's modes take, handed to the same
/// evaluators. Blocking (directory walks, clamd round trips): run it off the cooperative pool.
public enum StatusGatherer {
    public static func gather(_ sources: StatusSources, now: Double, history: [StatusSample] = []) -> PipelineStatus {
        let started = DispatchTime.now().uptimeNanoseconds
        let thresholds = sources.thresholds
        let options = SnapshotOptions(ageSource: sources.layout.ageSource, topN: sources.topN, olderThan: [], threads: sources.threads)
        let journal = ScanJournal(layout: sources.layout)
        let historyWindow = max(thresholds.waitWindow, thresholds.stuckWindow, thresholds.infectedWindow)
        let runbook = Runbook(sources: sources)
        var queues: [QueueStatus] = []
        // The journal once for every queue; each queue's history takes its own records from it.
        let journalRead = ProcessingHistory.readJournal(journal, since: now - historyWindow)
        for queue in sources.queues {
            let reading = QueueReading.take(queue, now: now, options: options)
            let trees = ProcessingHistory.readTrees(queues: [queue], now: now, window: historyWindow, options: options)
            let history = ProcessingHistory.combine(journal: journalRead, trees: trees, queues: [queue.name], now: now,
                                                    since: now - historyWindow)
            func within(_ span: Double, _ outcomes: Set<Outcome> = Set(Outcome.allCases)) -> ProcessingHistory {
                history.within(since: now - span, outcomes: outcomes)
            }
            let wait = WaitCheck.evaluate(within(thresholds.waitWindow), window: thresholds.waitWindow, percentile: thresholds.waitPercentile,
                                          thresholds: thresholds.wait, topN: 0)
            var stuck = StuckCheck.evaluate([reading], history: within(thresholds.stuckWindow), window: thresholds.stuckWindow, topN: 0)
            let watchPath = WatchState.path(stateDirectory: sources.layout.stateDirectory, queue: queue.name)
            let watch: Result<WatchState?, PipelineError>
            do throws(PipelineError) { watch = .success(try WatchState.load(path: watchPath)) } catch { watch = .failure(error) }
            StuckCheck.evaluateWatchers([(queue.name, watch)], now: now, into: &stuck)
            let infectedHistory = within(thresholds.infectedWindow, [.infected])
            let infected = InfectedCheck.evaluate(infectedHistory, window: thresholds.infectedWindow, thresholds: thresholds.infected, topN: 5, now: now)
            let parts = [
                StatusPart(mode: "backlog", queue: queue.name, report: BacklogCheck.evaluate([reading], thresholds: thresholds.backlog, topN: 0),
                           runbook: runbook.drain(queue.name, why: "More files wait than the scanner keeps up with.")),
                StatusPart(mode: "age", queue: queue.name, report: AgeCheck.evaluate([reading], thresholds: thresholds.age, topN: 0),
                           runbook: runbook.drain(queue.name, why: "A file has waited too long: publishers are waiting for it.")),
                StatusPart(mode: "wait", queue: queue.name, report: wait,
                           runbook: runbook.drain(queue.name, why: "Files take too long from upload to verdict: scanning is slow (a fresh clamscan per file reloads every signature).")),
                StatusPart(mode: "stuck", queue: queue.name, report: stuck,
                           runbook: runbook.drain(queue.name, why: "Files wait and nothing was processed: the scanner is not running (cron stopped, a dead run holding the lock, clamd down).")),
                StatusPart(mode: "infected", queue: queue.name, report: infected,
                           runbook: runbook.ignore(topSignature(infectedHistory))),
            ]
            let snapshot = try? reading.snapshot.get()
            let waitLabel = "wait_p\(PerfDatum.format(thresholds.waitPercentile))".replacingDots()
            queues.append(QueueStatus(
                name: queue.name, directory: queue.incoming, files: snapshot?.files, bytes: snapshot?.bytes, oldestAge: snapshot?.oldestAge,
                oldest: (snapshot?.oldest ?? []).map { WaitingEntry(path: $0.displayPath, age: $0.age, size: $0.size) },
                waitPercentile: wait.perfdata.first { $0.label == waitLabel }?.value, parts: parts))
        }
        var services: [StatusPart] = []
        if sources.clamdPool.count > 1 {
            services += pool(sources, now: now, thresholds: thresholds, runbook: runbook)
        } else if let client = sources.clamd {
            let observation = ClamdObservation.take(client)
            var loaded = observation.version
            if case .failure(let error) = observation.ping { loaded = .failure(error) }
            services.append(StatusPart(mode: "clamd", queue: nil, report: ClamdCheck.evaluate(observation, thresholds: thresholds.clamd, scanThresholds: thresholds.clamdScan),
                                       runbook: runbook.restartClamd()))
            let inventory = Result { () throws(SignatureDatabaseError) in try SignatureDatabaseInventory.read(directory: sources.databaseDirectory) }
            let signatures = SignaturesCheck.evaluate(SignaturesObservation(directory: sources.databaseDirectory, inventory: inventory, loaded: loaded),
                                                      now: now, thresholds: thresholds.signatures, maxBehind: 2)
            services.append(StatusPart(mode: "signatures", queue: nil, report: signatures, runbook: runbook.signatures()))
        } else {
            services.append(StatusPart(mode: "clamd", queue: nil, missing: "no clamd endpoint configured"))
        }
        services.append(rescan(sources, now: now, thresholds: thresholds, runbook: runbook))
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        return PipelineStatus(generated: now, thresholds: sources.layout.thresholds == nil ? "built-in (recommended)" : "layout file",
                              queues: queues, services: services, history: history, gatherSeconds: elapsed)
    }

    /// A pool: one `clamd` row per daemon (asked at once), then the signatures judged over the
    /// pool (down daemons against all of them, version skew).
    static func pool(_ sources: StatusSources, now: Double, thresholds: PipelineThresholds, runbook: Runbook) -> [StatusPart] {
        let observations = ClamdPool.concurrently(sources.clamdPool) { ClamdObservation.take($0) }
        var parts: [StatusPart] = []
        var loaded: [(endpoint: String, label: String, version: Result<ClamdVersion, ClamdError>)] = []
        let labels = (try? ClamdPool(sources.clamdPool.map(\.endpoint)))?.labels ?? sources.clamdPool.map { _ in "clamd" }
        for (index, observation) in observations.enumerated() {
            let endpoint = sources.clamdPool[index].endpoint
            parts.append(StatusPart(mode: "clamd", queue: nil, endpoint: observation.endpoint,
                                    report: ClamdCheck.evaluate(observation, thresholds: thresholds.clamd, scanThresholds: thresholds.clamdScan),
                                    runbook: runbook.restartClamd(endpoint)))
            let version: Result<ClamdVersion, ClamdError>
            switch (observation.ping, observation.version) {
            case (.failure(let error), _): version = .failure(error)
            case (_, let reply?): version = reply
            default: version = .failure(ClamdError(.commandFailed, "VERSION not asked"))
            }
            loaded.append((observation.endpoint, labels[index], version))
        }
        let inventory = Result { () throws(SignatureDatabaseError) in try SignatureDatabaseInventory.read(directory: sources.databaseDirectory) }
        let signatures = SignaturesCheck.evaluatePool(SignaturesObservation(directory: sources.databaseDirectory, inventory: inventory), loaded: loaded,
                                                      minUp: sources.clamdPool.count, now: now, thresholds: thresholds.signatures, maxBehind: 2)
        parts.append(StatusPart(mode: "signatures", queue: nil, report: signatures, runbook: runbook.signatures()))
        return parts
    }

    /// The rescan: judged only when rescan-clean has run here (a state file or its lock exists);
    /// otherwise an OK line saying it is not in use.
    static func rescan(_ sources: StatusSources, now: Double, thresholds: PipelineThresholds, runbook: Runbook) -> StatusPart {
        let path = sources.layout.rescanStatePath
        let state: RescanState?
        do throws(PipelineError) { state = try RescanState.load(path: path) } catch {
            return StatusPart(mode: "rescan", queue: nil, missing: error.message)
        }
        let holders: [LockProbe.Holder]?
        do throws(PipelineError) { holders = try LockProbe.holders(of: sources.rescanLock) } catch {
            return StatusPart(mode: "rescan", queue: nil, missing: error.message)
        }
        if state == nil && holders == nil {
            return StatusPart(mode: "rescan", queue: nil,
                              report: CheckReport(results: [CheckResult(.ok, "rescan-clean not in use here (no state file at \(path))")]))
        }
        let observation = RescanObservation(statePath: path, state: state, lockPath: sources.rescanLock, holders: holders)
        return StatusPart(mode: "rescan", queue: nil,
                          report: RescanCheck.evaluate(observation, now: now, running: thresholds.rescanRunning, stale: thresholds.rescanStale),
                          runbook: runbook.rescan())
    }

    /// The signature that quarantined the most files in the window (nil when none is known).
    static func topSignature(_ history: ProcessingHistory) -> String? {
        var counts: [String: Int] = [:]
        for record in history.records where record.outcome == .infected {
            if let signature = record.signature { counts[signature, default: 0] += 1 }
        }
        return counts.max { ($0.value, $1.key) < ($1.value, $0.key) }?.key
    }
}

/// The runbook's steps, spelled for this pipeline.
struct Runbook {
    let sources: StatusSources

    func drain(_ queue: String, why: String) -> RunbookStep {
        RunbookStep(meaning: why + " Scan the whole backlog in one process, the engine loaded once:",
                    command: Self.command(["check_virus_scan", "drain", "--queue", queue] + sources.commandOptions + sources.clamdOptions))
    }

    func ignore(_ signature: String?) -> RunbookStep {
        let name = signature ?? "SIGNATURE"
        let which = signature == nil
            ? " (the scan journal does not name the signature for these files: read it from syslog, tag virus_scan, or clamdscan one of them)"
            : " (\(name) quarantined the most files in the window)"
        return RunbookStep(
            meaning: "Files were quarantined. If one signature is quarantining ordinary documents it is a false positive: check the files in the infected tree, then ignore that signature, clamd reloads\(which):",
            command: Self.command(["check_virus_scan", "ignore-signature", name, "--reason", "false positive on uploads", "--database-dir", sources.databaseDirectory]
                                  + sources.clamdOptions))
    }

    func restartClamd() -> RunbookStep {
        RunbookStep(meaning: "clamd does not answer or is overloaded: uploads are not being scanned. Restart it and wait until it answers PING:",
                    command: Self.command(["check_virus_scan", "restart-clamd"] + sources.clamdOptions))
    }

    /// restart-clamd for one daemon of a pool.
    func restartClamd(_ endpoint: ClamdEndpoint) -> RunbookStep {
        RunbookStep(meaning: "This clamd does not answer or is overloaded: the uploads it takes are not being scanned. Restart it and wait until it answers PING:",
                    command: Self.command(["check_virus_scan", "restart-clamd"] + endpoint.commandLineOptions))
    }


    func signatures() -> RunbookStep {
        RunbookStep(
            meaning: "The signature database is old, or clamd runs another version than the one on disk: let freshclam update it, then reload clamd:",
            command: "freshclam && " + Self.command(["check_virus_scan", "restart-clamd"] + sources.clamdOptions))
    }

    func rescan() -> RunbookStep {
        RunbookStep(meaning: "The rescan of published files with today's signatures is late or stopped. Run (or resume) it:",
                    command: Self.command(["check_virus_scan", "rescan-clean"] + sources.commandOptions + sources.clamdOptions))
    }

    /// The words joined for a POSIX shell, each quoted when it needs to be.
    static func command(_ words: [String]) -> String {
        words.map(quote).joined(separator: " ")
    }

    static func quote(_ word: String) -> String {
        let safe = word.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || "-_./:=@%+,".utf8.contains(byte)
        }
        if safe && !word.isEmpty { return word }
        return "'" + word.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "'\\''") + "'"
    }
}
