/// The `outcome` collector: the clean and infected trees.
///
/// - `virus_scan_outcome_files{queue,outcome}`: every file in the tree (counted from directory entries).
/// - through ``ProcessedTracker``: `virus_scan_processed_total{queue,verdict}`, `virus_scan_wait_seconds{queue}`,
///   `virus_scan_last_processed_timestamp_seconds{queue}`.
///
/// Only files in directories changed since the tracker's window start are stat'ed (``OutcomeSnapshot``),
/// so a scrape over a tree of millions of files reads directories but stats only recent arrivals.
public struct OutcomeCollector: Collector {
    public let name = "outcome"
    public let queues: [QueueDefinition]
    public let options: SnapshotOptions
    public let tracker: ProcessedTracker

    public init(queues: [QueueDefinition], tracker: ProcessedTracker, options: SnapshotOptions = SnapshotOptions(topN: 0, olderThan: [])) {
        self.queues = queues
        self.tracker = tracker
        self.options = options
    }

    public func collect(now: Double) async -> CollectorResult {
        let queues = self.queues
        let options = self.options
        let window = tracker.window(now: now)
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
        var snapshots: [OutcomeSnapshot] = []
        var problems: [String] = []
        for (queue, outcome, result) in results {
            switch result {
            case .success(let snapshot):
                snapshots.append(snapshot)
                files.append(([Label("queue", queue.name), Label("outcome", outcome.rawValue)], Double(snapshot.files)))
                if snapshot.unreadableCount > 0 {
                    problems.append("\(queue.name) \(outcome.rawValue) tree: \(snapshot.unreadableCount) unreadable directories")
                }
            case .failure(let error):
                problems.append(error.description)
            }
        }
        tracker.record(snapshots, queues: queues.map(\.name), now: now)
        let families = [MetricFamily.gauge("virus_scan_outcome_files", help: "Files in the outcome tree (clean or infected) of the queue.", files)]
            + tracker.families()
        return CollectorResult(families: families, success: problems.isEmpty, problems: problems)
    }
}
