/// The `journal` collector: the health of the scan journal that `drain` and `rescan-clean` append to
/// (``ScanJournal``). The processed counts themselves come from ``OutcomeCollector``, which merges the
/// journal with the outcome trees (``ProcessingHistory``).
///
/// Over the window the tracker covers (the journal is read backwards from its end):
/// `virus_scan_journal_malformed_records` (lines that could not be parsed) and
/// `virus_scan_journal_skipped_records{reason}`: `other_pipeline` (records of another root sharing the
/// state directory) and `unattributed` (records without a pipeline, written before 0.9). Without a
/// journal the collector reports only `virus_scan_held_files` (zeros) and succeeds.
///
/// `virus_scan_held_files{queue}` (when given the queue definitions): the files the storm breaker
/// is holding now — distinct files with a `held` journal record of this pipeline in the last hour
/// (``StormBreaker/journalWindow``) that are still where they were held (in the queue for drain's
/// records, in the clean tree for rescan-clean's). A file ignored, quarantined or published since is
/// no longer there and no longer counted.
public struct JournalCollector: Collector {
    public let name = "journal"
    public let journal: ScanJournal
    public let queues: [String]
    public let tracker: ProcessedTracker
    /// Detections by signature, scan durations, errors by reason (``ScanActivityTracker``).
    public let activity: ScanActivityTracker?

    /// The queues whose held files are counted; empty: no `virus_scan_held_files`.
    public let heldQueues: [QueueDefinition]

    public init(journal: ScanJournal, queues: [String], tracker: ProcessedTracker, activity: ScanActivityTracker? = nil,
                heldQueues: [QueueDefinition] = []) {
        self.journal = journal
        self.queues = queues
        self.tracker = tracker
        self.activity = activity
        self.heldQueues = heldQueues
    }

    /// Files held now, per queue (see the type's documentation).
    public static func heldFiles(_ records: [JournalRecord], queues: [QueueDefinition]) -> [String: Int] {
        var held: [String: Set<String>] = [:]
        for queue in queues { held[queue.name] = [] }
        for record in records where record.action == "held" {
            guard let queue = queues.first(where: { $0.name == record.queue }) else { continue }
            let base = record.source == "rescan" ? queue.clean : queue.incoming
            guard case .success(let info) = FileMetadata.read(path: base + "/" + record.path, wantBirthTime: false),
                  info.kind == .regular else { continue }
            held[queue.name, default: []].insert(record.path)
        }
        return held.mapValues(\.count)
    }

    public func collect(now: Double) async -> CollectorResult {
        let journal = self.journal
        let since = min(tracker.windowStart, activity?.readStart(now: now) ?? .infinity)
        let heldQueues = self.heldQueues
        let read: Result<JournalRead, PipelineError>? = await runBlocking { ProcessingHistory.readJournal(journal, since: since) }
        var held: [String: Int]?
        if !heldQueues.isEmpty {
            held = await runBlocking { () -> [String: Int]? in
                (try? journal.read(since: now - StormBreaker.journalWindow)).map { Self.heldFiles($0.records, queues: heldQueues) }
            }
        }
        var families: [MetricFamily] = []
        if let held {
            families.append(.gauge(
                "virus_scan_held_files",
                help: "Files the storm breaker (--storm-limit) holds now: a held journal record in the last hour and still where it was held (the queue for drain, the clean tree for rescan-clean).",
                heldQueues.map { ([Label("queue", $0.name)], Double(held[$0.name] ?? 0)) }))
        }
        switch read {
        case nil:
            activity?.record([], queues: queues, now: now)
            return CollectorResult(families: (activity?.families() ?? []) + families)
        case .success(let read):
            activity?.record(read.records, queues: queues, now: now)
            return CollectorResult(families: (activity?.families() ?? []) + families + [
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
