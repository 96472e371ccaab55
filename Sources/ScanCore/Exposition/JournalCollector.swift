/// The `journal` collector: the health of the scan journal that `drain` and `rescan-clean` append to
/// (``ScanJournal``). The processed counts themselves come from ``OutcomeCollector``, which merges the
/// journal with the outcome trees (``ProcessingHistory``).
///
/// Over the window the tracker covers (the journal is read backwards from its end):
/// `virus_scan_journal_malformed_records` (lines that could not be parsed) and
/// `virus_scan_journal_skipped_records{reason}`: `other_pipeline` (records of another root sharing the
/// state directory) and `unattributed` (records without a pipeline, written before 0.9). Without a
/// journal the collector reports nothing and succeeds.
public struct JournalCollector: Collector {
    public let name = "journal"
    public let journal: ScanJournal
    public let queues: [String]
    public let tracker: ProcessedTracker
    /// Detections by signature, scan durations, errors by reason (``ScanActivityTracker``).
    public let activity: ScanActivityTracker?

    public init(journal: ScanJournal, queues: [String], tracker: ProcessedTracker, activity: ScanActivityTracker? = nil) {
        self.journal = journal
        self.queues = queues
        self.tracker = tracker
        self.activity = activity
    }

    public func collect(now: Double) async -> CollectorResult {
        let journal = self.journal
        let since = min(tracker.windowStart, activity?.readStart(now: now) ?? .infinity)
        let read: Result<JournalRead, PipelineError>? = await runBlocking { ProcessingHistory.readJournal(journal, since: since) }
        switch read {
        case nil:
            activity?.record([], queues: queues, now: now)
            return CollectorResult(families: activity?.families() ?? [])
        case .success(let read):
            activity?.record(read.records, queues: queues, now: now)
            return CollectorResult(families: (activity?.families() ?? []) + [
                .gauge("virus_scan_journal_malformed_records", help: "Journal lines in the window read that could not be parsed.", value: Double(read.malformed)),
                .gauge(
                    "virus_scan_journal_skipped_records",
                    help: "Journal records in the window read that were not counted: of another pipeline sharing the state directory, or with no pipeline (written before 0.9).",
                    [([Label("reason", "other_pipeline")], Double(read.otherPipelines)), ([Label("reason", "unattributed")], Double(read.unattributed))]),
            ])
        case .failure(let error):
            return .failure(error.message)
        }
    }
}
