/// The `queue` collector: what waits in each queue right now.
///
/// - `virus_scan_queue_files{queue}`, `virus_scan_queue_bytes{queue}`
/// - `virus_scan_queue_oldest_file_age_seconds{queue}` (0 when empty)
/// - `virus_scan_queue_file_age_seconds{queue}`: histogram of the waiting files' ages. A snapshot, not a
///   counter: buckets go down as files leave, so never `rate()` it. Files older than 20 min =
///   `_count - _bucket{le="1200"}`.
/// - `virus_scan_queue_unreadable_directories{queue}`, `virus_scan_queue_anomalies{queue}` (entries that
///   are not regular files or directories: symlinks, fifos, sockets, devices)
///
/// A queue that cannot be read is left out and fails the collector; the other queues are still reported.
public struct QueueCollector: Collector {
    public let name = "queue"
    public let queues: [QueueDefinition]
    public let options: SnapshotOptions

    public init(queues: [QueueDefinition], options: SnapshotOptions = SnapshotOptions(topN: 0, olderThan: [])) {
        self.queues = queues
        self.options = options
    }

    public func collect(now: Double) async -> CollectorResult {
        let queues = self.queues
        let options = self.options
        let results: [Result<QueueSnapshot, PipelineError>] = await runBlocking {
            queues.map { queue in
                do throws(PipelineError) { return .success(try QueueSnapshot.take(queue, now: now, options: options)) } catch { return .failure(error) }
            }
        }
        var snapshots: [QueueSnapshot] = []
        var problems: [String] = []
        for result in results {
            switch result {
            case .success(let snapshot):
                snapshots.append(snapshot)
                if snapshot.unreadableCount > 0 {
                    problems.append("queue \(snapshot.queue): \(snapshot.unreadableCount) unreadable directories, first \(snapshot.unreadable.first.map { "\($0.displayPath): \($0.message)" } ?? "?")")
                }
            case .failure(let error):
                problems.append(error.description)
            }
        }
        return CollectorResult(families: Self.families(snapshots), success: problems.isEmpty, problems: problems)
    }

    /// The families for a set of snapshots (pure; tests feed it values).
    public static func families(_ snapshots: [QueueSnapshot]) -> [MetricFamily] {
        func q(_ s: QueueSnapshot) -> [Label] { [Label("queue", s.queue)] }
        return [
            .gauge("virus_scan_queue_files", help: "Regular files waiting to be scanned.", snapshots.map { (q($0), Double($0.files)) }),
            .gauge("virus_scan_queue_bytes", help: "Bytes waiting to be scanned.", snapshots.map { (q($0), Double($0.bytes)) }),
            .gauge(
                "virus_scan_queue_oldest_file_age_seconds", help: "Age of the oldest waiting file (now minus placed time), 0 when the queue is empty.",
                snapshots.map { (q($0), $0.oldestAge ?? 0) }),
            .histogram(
                "virus_scan_queue_file_age_seconds",
                help: "Ages of the files waiting now (a snapshot: buckets fall as files leave; do not rate() it).",
                snapshots.map {
                    HistogramSeries(labels: q($0), bounds: $0.histogram.bounds, cumulativeCounts: $0.histogram.cumulativeCounts, sum: $0.histogram.sum)
                }),
            .gauge(
                "virus_scan_queue_unreadable_directories", help: "Directories under the queue that could not be read in this scrape.",
                snapshots.map { (q($0), Double($0.unreadableCount)) }),
            .gauge(
                "virus_scan_queue_anomalies", help: "Entries in the queue that are neither regular files nor directories (symlinks, fifos, sockets, devices).",
                snapshots.map { (q($0), Double($0.anomalies.count)) }),
        ]
    }
}
