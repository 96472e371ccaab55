/// The `outcome` collector: the clean and infected trees.
///
/// - `virus_scan_outcome_files{queue,outcome}`: every file in the tree (counted from directory entries).
/// - When there is no scan journal: through ``ProcessedTracker``, `virus_scan_processed_total{queue,verdict}`,
///   `virus_scan_wait_seconds{queue}` and friends from the trees' arrivals (clean/infected; error stays 0).
///   When the journal exists, ``JournalCollector`` reports those instead.
///
/// Only files in directories changed since the tracker's window start are stat'ed (``OutcomeSnapshot``),
/// so a scrape over a tree of millions of files reads directories but stats only recent arrivals.
public struct OutcomeCollector: Collector {
    public let name = "outcome"
    public let queues: [QueueDefinition]
    public let options: SnapshotOptions
    public let tracker: ProcessedTracker
    public let journal: ScanJournal?

    public init(
        queues: [QueueDefinition], tracker: ProcessedTracker, journal: ScanJournal? = nil,
        options: SnapshotOptions = SnapshotOptions(topN: 0, olderThan: [])
    ) {
        self.queues = queues
        self.tracker = tracker
        self.journal = journal
        self.options = options
    }

    public func collect(now: Double) async -> CollectorResult {
        let queues = self.queues
        let options = self.options
        let source = tracker.source(now: now) { journal?.exists ?? false }
        // With the journal as the source, only count files (a zero window stats nothing).
        let window = source == .trees ? tracker.window(now: now) : 0
        let results: [(QueueDefinition, Outcome, Result<OutcomeSnapshot, PipelineError>)] = await runBlocking {
            var results: [(QueueDefinition, Outcome, Result<OutcomeSnapshot, PipelineError>)] = []
            for queue in queues {
                for outcome in Outcome.allCases {
                    do throws(PipelineError) {
                        results.append((queue, outcome, .success(try OutcomeSnapshot.take(queue: queue, outcome: outcome, now: now, window: window, options: options))))
                    } catch {
                        results.append((queue, outcome, .failure(error)))
                    }
                }
            }
            return results
        }
        var files: [([Label], Double)] = []
        var observations: [ProcessedObservation] = []
        var problems: [String] = []
        for (queue, outcome, result) in results {
            switch result {
            case .success(let snapshot):
                files.append(([Label("queue", queue.name), Label("outcome", outcome.rawValue)], Double(snapshot.files)))
                observations += snapshot.arrivals.map {
                    ProcessedObservation(queue: queue.name, verdict: outcome.rawValue, path: $0.relativePath, time: $0.arrived, wait: $0.wait)
                }
                if snapshot.unreadableCount > 0 {
                    problems.append("\(queue.name) \(outcome.rawValue) tree: \(snapshot.unreadableCount) unreadable directories")
                }
            case .failure(let error):
                problems.append(error.description)
            }
        }
        var families = [MetricFamily.gauge("virus_scan_outcome_files", help: "Files in the outcome tree (clean or infected) of the queue.", files)]
        if source == .trees {
            tracker.record(observations, queues: queues.map(\.name), now: now)
            families += tracker.families(source: .trees)
        }
        return CollectorResult(families: families, success: problems.isEmpty, problems: problems)
    }
}
