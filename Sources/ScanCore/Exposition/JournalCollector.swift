/// The `journal` collector: processed counts and waits from the scan journal that `drain` and
/// `rescan-clean` append to (``ScanJournal``), when it exists.
///
/// With a journal, `virus_scan_processed_total{queue,verdict}` has all three verdicts (clean,
/// infected, error) and `virus_scan_wait_seconds{queue}` uses the exact scan times. Only the records
/// since the tracker's window start are read (the journal is read backwards from its end).
/// Without a journal the collector reports nothing and succeeds; ``OutcomeCollector`` counts from the trees.
/// Malformed lines are reported as `virus_scan_journal_malformed_records` (in the window read).
public struct JournalCollector: Collector {
    public let name = "journal"
    public let journal: ScanJournal
    public let queues: [String]
    public let tracker: ProcessedTracker

    public init(journal: ScanJournal, queues: [String], tracker: ProcessedTracker) {
        self.journal = journal
        self.queues = queues
        self.tracker = tracker
    }

    public func collect(now: Double) async -> CollectorResult {
        let journal = self.journal
        guard tracker.source(now: now, journalExists: { journal.exists }) == .journal else {
            return CollectorResult(families: [])
        }
        let since = tracker.windowStart
        let read: Result<(records: [JournalRecord], skipped: Int), Errno> = await runBlocking {
            do throws(Errno) { return .success(try journal.records(since: since)) } catch { return .failure(error) }
        }
        switch read {
        case .success(let (records, skipped)):
            let observations = records.map {
                ProcessedObservation(queue: $0.queue, verdict: $0.verdict, path: Array($0.path.utf8), time: $0.scanned, wait: $0.wait)
            }
            tracker.record(observations, queues: queues, now: now)
            let families = tracker.families(source: .journal) + [
                .gauge("virus_scan_journal_malformed_records", help: "Journal lines in the window read that could not be parsed.", value: Double(skipped))
            ]
            return CollectorResult(families: families)
        case .failure(let error):
            // The tracker's families still go out (unchanged counters), so series do not vanish.
            return .failure("cannot read the scan journal \(journal.path): \(error)", families: tracker.families(source: .journal))
        }
    }
}
