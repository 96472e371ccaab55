/// The `outcome` collector: the clean and infected trees, and the processed files.
///
/// - `virus_scan_outcome_files{queue,outcome}`: every file in the tree (counted from directory entries).
/// - Through ``ProcessedTracker``, `virus_scan_processed_total{queue,verdict}`, `virus_scan_wait_seconds{queue}`
///   and friends from ``ProcessingHistory``: the union of this pipeline's scan journal records (clean,
///   infected and scan errors) and the trees' arrivals (whoever moved the file), each file counted once.
///   Rescan detections count as `infected` but are not waits; scan errors count as `error`, not waits.
///
/// Only files in directories changed since the tracker's window start are stat'ed (``OutcomeSnapshot``),
/// so a scrape over a tree of millions of files reads directories but stats only recent arrivals; the
/// journal is read backwards from its end over the same window.
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
        let journal = self.journal
        let since = tracker.windowStart
        let window = max(0, now - since)
        typealias Walked = (QueueDefinition, Outcome, Result<OutcomeSnapshot, PipelineError>)
        let (results, journalRead): ([Walked], Result<JournalRead, PipelineError>?) = await runBlocking {
            var results: [Walked] = []
            for queue in queues {
                for outcome in Outcome.allCases {
                    do throws(PipelineError) {
                        results.append((queue, outcome, .success(try OutcomeSnapshot.take(queue: queue, outcome: outcome, now: now, window: window, options: options))))
                    } catch {
                        results.append((queue, outcome, .failure(error)))
                    }
                }
            }
            // After the walks: drain renames, then journals, so a file the walk missed is in the journal.
            return (results, journal.flatMap { ProcessingHistory.readJournal($0, since: since) })
        }
        var files: [([Label], Double)] = []
        var trees: [ProcessingHistory.TreeReading] = []
        var problems: [String] = []
        for (queue, outcome, result) in results {
            switch result {
            case .success(let snapshot):
                files.append(([Label("queue", queue.name), Label("outcome", outcome.rawValue)], Double(snapshot.files)))
                trees.append(.init(queue: queue.name, outcome: outcome, result: .success(snapshot.arrivals)))
                if snapshot.unreadableCount > 0 {
                    problems.append("\(queue.name) \(outcome.rawValue) tree: \(snapshot.unreadableCount) unreadable directories")
                }
            case .failure(let error):
                problems.append(error.description)
            }
        }
        if case .failure(let error) = journalRead { problems.append(error.message) }
        let history = ProcessingHistory.combine(
            journal: journalRead, trees: trees, queues: queues.map(\.name), now: now, since: since, includeErrors: true)
        tracker.record(history.records.map(ProcessedObservation.init), queues: queues.map(\.name), now: now)
        let families = [MetricFamily.gauge("virus_scan_outcome_files", help: "Files in the outcome tree (clean or infected) of the queue.", files)]
            + tracker.families()
        return CollectorResult(families: families, success: problems.isEmpty, problems: problems)
    }
}
