import ScanCore
import ScanCoreCLI

extension PipelineOptions {
    static let defaultRescanLock = Defaults.rescanLock

    /// The clamd daemons from `--socket`/`--tcp`, else the layout's `clamd.endpoints`, else the
    /// Debian socket: the same reading as check_virus_scan's (``ClamdPool``).
    func clamdPool(_ layout: PipelineLayout) throws -> ClamdPool {
        try clamd.pool(configured: layout.clamdEndpoints)
    }

    /// A client per daemon of the pool, with the exporter's time limits.
    func clamdClients(_ layout: PipelineLayout) throws -> [ClamdClient] {
        try clamdPool(layout).endpoints.map { ClamdClient(endpoint: $0, timeouts: .init(connect: .seconds(2), command: .seconds(5), scan: .seconds(5))) }
    }

    /// The collectors for these options, in the order they are reported: queue, outcome, journal,
    /// clamd, signatures, rescan, watch.
    func makeCollectors(now: Double = WallClock.now()) throws -> [any Collector] {
        let layout = try layout()
        let queues = try layout.queues(named: queue)
        let options = SnapshotOptions(ageSource: layout.ageSource, topN: 0, olderThan: [], threads: threads)
        let journal = ScanJournal(layout: layout)
        let tracker = ProcessedTracker(countSince: now)
        let clamd = try clamdClients(layout)
        return [
            QueueCollector(queues: queues, options: options),
            OutcomeCollector(queues: queues, tracker: tracker, journal: journal, options: options),
            JournalCollector(journal: journal, queues: queues.map(\.name), tracker: tracker,
                             activity: ScanActivityTracker(countSince: now, topK: topSignatures), heldQueues: queues),
            clamd.count == 1 && !endpointLabel ? ClamdCollector(client: clamd[0]) : ClamdCollector(clients: clamd, labelEndpoints: true),
            SignatureCollector(directory: databaseDirectory),
            RescanCollector(statePath: layout.rescanStatePath, lockPath: lock ?? Self.defaultRescanLock),
            WatchCollector(stateDirectory: layout.stateDirectory, queues: queues.map(\.name)),
        ]
    }

    /// What the status page looks at, and the options its runbook commands repeat.
    func statusSources() throws -> StatusSources {
        let layout = try layout()
        let clients = try clamdClients(layout)
        // The runbook's single-daemon commands (drain, restart-clamd, rescan-clean) name the first
        // daemon; with a pool the page's clamd rows carry a restart-clamd for each.
        let clamdOptions = clamd.firstEndpointOptions ?? layout.clamdEndpoints?.first?.commandLineOptions ?? ["--socket", Defaults.clamdSocket]
        return StatusSources(layout: layout, queues: try layout.queues(named: queue), clamd: clients[0], databaseDirectory: databaseDirectory,
                             rescanLock: lock ?? Self.defaultRescanLock, commandOptions: location.commandOptions, clamdOptions: clamdOptions,
                             threads: threads, clamdPool: clients)
    }
}
