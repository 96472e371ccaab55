import Logging
import ScanCore

extension PipelineOptions {
    static let defaultSocket = "/var/run/clamav/clamd.ctl"
    static let defaultRescanLock = "/var/run/virus_scan/rescan.lock"

    /// The clamd endpoint from `--socket`/`--tcp` (the Debian socket by default).
    func clamdEndpoint() throws -> ClamdEndpoint {
        if let tcp { return try ClamdEndpoint(parsing: "tcp:" + tcp) }
        return try ClamdEndpoint(parsing: socket ?? Self.defaultSocket)
    }

    /// The collectors for these options, in the order they are reported: queue, outcome, journal,
    /// clamd, signatures, rescan, watch.
    func makeCollectors(logger: Logger, now: Double = WallClock.now()) throws -> [any Collector] {
        let layout = try layout()
        let queues = try layout.queues(named: queue)
        let options = SnapshotOptions(ageSource: layout.ageSource, topN: 0, olderThan: [], threads: threads)
        let journal = ScanJournal(layout: layout)
        let tracker = ProcessedTracker(countSince: now)
        let clamd = ClamdClient(endpoint: try clamdEndpoint(), timeouts: .init(connect: .seconds(2), command: .seconds(5), scan: .seconds(5)))
        return [
            QueueCollector(queues: queues, options: options),
            OutcomeCollector(queues: queues, tracker: tracker, journal: journal, options: options),
            JournalCollector(journal: journal, queues: queues.map(\.name), tracker: tracker,
                             activity: ScanActivityTracker(countSince: now, topK: topSignatures), heldQueues: queues),
            ClamdCollector(client: clamd),
            SignatureCollector(directory: databaseDirectory),
            RescanCollector(statePath: layout.rescanStatePath, lockPath: lock ?? Self.defaultRescanLock),
            WatchCollector(stateDirectory: layout.stateDirectory, queues: queues.map(\.name)),
        ]
    }

    /// What the status page looks at, and the options its runbook commands repeat.
    func statusSources() throws -> StatusSources {
        let layout = try layout()
        var commandOptions: [String] = []
        if let config { commandOptions += ["--config", config] }
        if let root { commandOptions += ["--root", root] }
        if let stateDirectory { commandOptions += ["--state-dir", stateDirectory] }
        let clamdOptions = tcp.map { ["--tcp", $0] } ?? ["--socket", socket ?? Self.defaultSocket]
        let clamd = ClamdClient(endpoint: try clamdEndpoint(), timeouts: .init(connect: .seconds(2), command: .seconds(5), scan: .seconds(5)))
        return StatusSources(layout: layout, queues: try layout.queues(named: queue), clamd: clamd, databaseDirectory: databaseDirectory,
                             rescanLock: lock ?? Self.defaultRescanLock, commandOptions: commandOptions, clamdOptions: clamdOptions,
                             threads: threads)
    }
}
