/// A file the pipeline processed (scanned and moved), wherever the check learnt it from.
public struct ProcessedRecord: Sendable, Hashable {
    public var queue: String
    /// The path relative to the queue (or outcome tree), escaped for display.
    public var displayPath: String
    public var size: Int64
    /// When the file was placed in the queue, epoch seconds.
    public var placed: Double
    /// When it was processed (moved to clean or infected), epoch seconds.
    public var processed: Double
    public var outcome: Outcome
    /// The signature, when known (the journal records it; the infected tree does not).
    public var signature: String?
    /// A detection by `rescan-clean` among already published files: it counts as a quarantine,
    /// but not as processing of an upload (no wait, and it does not unstick a queue).
    public var fromRescan: Bool

    public init(queue: String, displayPath: String, size: Int64, placed: Double, processed: Double, outcome: Outcome,
                signature: String? = nil, fromRescan: Bool = false) {
        self.queue = queue
        self.displayPath = displayPath
        self.size = size
        self.placed = placed
        self.processed = processed
        self.outcome = outcome
        self.signature = signature
        self.fromRescan = fromRescan
    }

    /// Time from placed on disk until processed (never negative).
    public var wait: Double { max(0, processed - placed) }
}

/// What was processed within a window, and from which source.
public struct ProcessingHistory: Sendable {
    public enum Source: String, Sendable {
        /// The scan journal that `drain` and `rescan-clean` append to.
        case journal = "scan journal"
        /// Arrivals in the clean and infected trees (ctime of the rename), when no journal exists.
        case outcomeTrees = "outcome trees"
    }

    public var source: Source
    /// Start of the window (epoch seconds).
    public var since: Double
    public var records: [ProcessedRecord]
    /// Trees (or the journal) that could not be read: `(what, error)`.
    public var failures: [(what: String, error: PipelineError)]

    public init(source: Source, since: Double, records: [ProcessedRecord], failures: [(what: String, error: PipelineError)] = []) {
        self.source = source
        self.since = since
        self.records = records
        self.failures = failures
    }

    /// Arrivals in the queues' clean and/or infected trees since `now − window`.
    public static func fromOutcomeTrees(
        _ queues: [QueueDefinition], outcomes: [Outcome] = Outcome.allCases, now: Double, window: Double,
        options: SnapshotOptions, phase: (String) -> Void = { _ in }
    ) -> ProcessingHistory {
        var records: [ProcessedRecord] = []
        var failures: [(String, PipelineError)] = []
        for queue in queues {
            for outcome in outcomes {
                phase("reading the \(outcome.rawValue) tree of queue \(queue.name) (\(queue.path(for: outcome)))")
                do {
                    let snapshot = try OutcomeSnapshot.take(queue: queue, outcome: outcome, now: now, window: window, options: options)
                    for file in snapshot.arrivals {
                        records.append(ProcessedRecord(
                            queue: queue.name, displayPath: file.displayPath, size: file.size, placed: file.placed,
                            processed: file.arrived, outcome: outcome))
                    }
                } catch {
                    failures.append(("\(outcome.rawValue) tree of queue \(queue.name)", error))
                }
            }
        }
        records.sort { $0.processed != $1.processed ? $0.processed < $1.processed : $0.displayPath < $1.displayPath }
        return ProcessingHistory(source: .outcomeTrees, since: now - window, records: records, failures: failures)
    }

    /// What the scan journal says was processed in the queues since `now − window`: files moved to
    /// clean or infected (records of dry runs, report-only passes and files left queued are not
    /// processing; scan errors leave the file queued, so they are not either).
    public static func fromJournal(_ journal: ScanJournal, queues: [QueueDefinition], outcomes: [Outcome] = Outcome.allCases,
                                   now: Double, window: Double) -> ProcessingHistory {
        let names = Set(queues.map(\.name))
        let wanted = Set(outcomes)
        let since = now - window
        do {
            let (entries, _) = try journal.records(since: since)
            var records: [ProcessedRecord] = []
            for entry in entries where names.contains(entry.queue) && entry.scanned <= now {
                guard let outcome = Outcome(rawValue: entry.verdict), wanted.contains(outcome) else { continue }
                switch entry.action {
                case nil, "moved", "dropped-duplicate": break
                default: continue
                }
                records.append(ProcessedRecord(
                    queue: entry.queue, displayPath: entry.path, size: entry.size, placed: entry.placed,
                    processed: entry.scanned, outcome: outcome,
                    signature: outcome == .infected ? entry.signature : nil, fromRescan: entry.source == "rescan"))
            }
            return ProcessingHistory(source: .journal, since: since, records: records)
        } catch {
            return ProcessingHistory(source: .journal, since: since, records: [], failures: [(
                what: "scan journal \(journal.path)",
                error: PipelineError(.io, "cannot read the scan journal \(journal.path): \(error)", path: journal.path, errno: error.rawValue)
            )])
        }
    }

    /// Results for the parts that could not be read: UNKNOWN (the plugin could not look) unless the
    /// tree is missing, which is the pipeline's failure (CRITICAL).
    var problems: [CheckResult] {
        failures.map { CheckResult(QueueFindings.state(for: $0.error), "\($0.what): \($0.error.message)") }
    }
}
