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

/// Gathers a ``PipelineStatus``: the check's own probes (``CheckProbe``) run over the thresholds
/// the page judges by, each queue's parts over that queue's readings (the journal read once for
/// every queue). Blocking (directory walks, clamd round trips): run it off the cooperative pool.
public enum StatusGatherer {
    /// Each queue's parts, in the page's order.
    static func queueProbes(_ thresholds: PipelineThresholds) -> [CheckProbe] {
        [
            CheckProbe.backlog(thresholds: thresholds.backlog, topN: 0),
            CheckProbe.age(thresholds: thresholds.age, topN: 0),
            CheckProbe.wait(window: thresholds.waitWindow, percentile: thresholds.waitPercentile, thresholds: thresholds.wait, topN: 0),
            CheckProbe.stuck(window: thresholds.stuckWindow, topN: 0),
            CheckProbe.infected(window: thresholds.infectedWindow, thresholds: thresholds.infected, topN: 5),
        ]
    }

    public static func gather(_ sources: StatusSources, now: Double, history: [StatusSample] = []) -> PipelineStatus {
        let started = DispatchTime.now().uptimeNanoseconds
        let thresholds = sources.thresholds
        let probes = queueProbes(thresholds)
        let historyWindow = probes.map(\.historyWindow).max() ?? 0
        let runbook = Runbook(sources: sources)
        // The journal once for every queue; each queue's history takes its own records from it.
        let journal = ProcessingHistory.readJournal(ScanJournal(layout: sources.layout), since: now - historyWindow)
        let clamd = sources.clamdPool.isEmpty ? nil : try? ClamdTargets(clients: sources.clamdPool)
        var queues: [QueueStatus] = []
        for queue in sources.queues {
            let readings = PipelineReadings(now: now, layout: sources.layout, queues: [queue], clamd: clamd, databaseDirectory: sources.databaseDirectory,
                                            listTop: sources.topN, threads: sources.threads, journal: .some(journal))
            var parts: [StatusPart] = []
            for (mode, result) in readings.runEach(probes) {
                let step: RunbookStep
                switch mode {
                case "backlog": step = runbook.drain(queue.name, why: "More files wait than the scanner keeps up with.")
                case "age": step = runbook.drain(queue.name, why: "A file has waited too long: publishers are waiting for it.")
                case "wait": step = runbook.drain(queue.name, why: "Files take too long from upload to verdict: scanning is slow (a fresh clamscan per file reloads every signature).")
                case "stuck": step = runbook.drain(queue.name, why: "Files wait and nothing was processed: the scanner is not running (cron stopped, a dead run holding the lock, clamd down).")
                default: step = runbook.ignore((try? readings.history(window: thresholds.infectedWindow, outcomes: [.infected])).flatMap(topSignature))
                }
                parts.append(StatusPart(mode: mode, queue: queue.name, result: result, runbook: step))
            }
            let snapshot = try? readings.queueReadings().first?.snapshot.get()
            let waitLabel = "wait_p\(PerfDatum.format(thresholds.waitPercentile))".replacingDots()
            queues.append(QueueStatus(
                name: queue.name, directory: queue.incoming, files: snapshot?.files, bytes: snapshot?.bytes, oldestAge: snapshot?.oldestAge,
                oldest: (snapshot?.oldest ?? []).map { WaitingEntry(path: $0.displayPath, age: $0.age, size: $0.size) },
                waitPercentile: parts.first { $0.mode == "wait" }?.perfdata[waitLabel], parts: parts))
        }
        let readings = PipelineReadings(now: now, layout: sources.layout, queues: sources.queues, clamd: clamd, databaseDirectory: sources.databaseDirectory,
                                        listTop: 0, threads: sources.threads)
        var services: [StatusPart] = []
        if let clamd {
            let signatures = CheckProbe.signatures(thresholds: thresholds.signatures, reuseObservations: true)
            if clamd.clients.count > 1 {
                // A pool: one clamd row per daemon (asked at once), then the signatures judged
                // over the pool (down daemons against all of them, version skew).
                let observations = (try? readings.clamdObservations()) ?? []
                for (index, observation) in observations.enumerated() {
                    services.append(StatusPart(mode: "clamd", queue: nil, endpoint: observation.endpoint,
                                               report: ClamdCheck.evaluate(observation, thresholds: thresholds.clamd, scanThresholds: thresholds.clamdScan),
                                               runbook: runbook.restartClamd(clamd.pool.endpoints[index])))
                }
            } else {
                services.append(part(CheckProbe.clamd(thresholds: thresholds.clamd, scanThresholds: thresholds.clamdScan), readings, runbook: runbook.restartClamd()))
            }
            services.append(part(signatures, readings, runbook: runbook.signatures()))
        } else {
            services.append(StatusPart(mode: "clamd", queue: nil, missing: sources.clamdPool.isEmpty ? "no clamd endpoint configured" : "the clamd endpoints do not make a pool"))
        }
        services.append(part(CheckProbe.rescan(running: thresholds.rescanRunning, stale: thresholds.rescanStale, lockPath: sources.rescanLock, unusedIsOK: true),
                             readings, runbook: runbook.rescan()))
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        return PipelineStatus(generated: now, thresholds: sources.layout.thresholds == nil ? "built-in (recommended)" : "layout file",
                              queues: queues, services: services, history: history, gatherSeconds: elapsed)
    }

    /// A service's row: its probe's report, or why it could not be judged.
    static func part(_ probe: CheckProbe, _ readings: PipelineReadings, runbook: RunbookStep) -> StatusPart {
        StatusPart(mode: probe.mode, queue: nil, result: Result { try readings.run(probe) }, runbook: runbook)
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
