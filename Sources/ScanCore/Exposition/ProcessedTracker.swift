import Synchronization

/// One processed file (or scan error) as the exporter counts it, from ``ProcessingHistory``'s union
/// of the scan journal and the outcome trees.
public struct ProcessedObservation: Sendable, Hashable {
    /// What makes two observations one file: its device and inode when known (a tree arrival, or a
    /// journal record since 0.9: the same file whichever source saw it first), else the journal
    /// event itself (queue, verdict, path and scan time: a scan error, which is an event, not a file).
    public enum Identity: Sendable, Hashable {
        case file(queue: String, verdict: String, device: UInt64, inode: UInt64)
        case event(queue: String, verdict: String, path: [UInt8], time: Double)
    }

    public var queue: String
    /// `clean`, `infected` or `error`.
    public var verdict: String
    public var identity: Identity
    /// When it was processed, epoch seconds.
    public var time: Double
    /// The wait to observe in `virus_scan_wait_seconds`; nil for what is not an upload's processing
    /// (a scan error: the file stays queued; a rescan detection among published files).
    public var wait: Double?

    public init(queue: String, verdict: String, identity: Identity, time: Double, wait: Double?) {
        self.queue = queue
        self.verdict = verdict
        self.identity = identity
        self.time = time
        self.wait = wait
    }

    /// An observation identified by its path and time (tests, and records without an inode).
    public init(queue: String, verdict: String, path: [UInt8], time: Double, wait: Double?) {
        self.init(queue: queue, verdict: verdict, identity: .event(queue: queue, verdict: verdict, path: path, time: time),
                  time: time, wait: wait)
    }

    /// The exporter's view of one record of the union.
    public init(_ record: ProcessedRecord) {
        let identity: Identity
        if let device = record.device, let inode = record.inode, record.outcome != nil {
            identity = .file(queue: record.queue, verdict: record.verdict, device: device, inode: inode)
        } else {
            identity = .event(queue: record.queue, verdict: record.verdict, path: Array(record.displayPath.utf8), time: record.processed)
        }
        self.init(queue: record.queue, verdict: record.verdict, identity: identity, time: record.processed,
                  wait: record.outcome == nil || record.fromRescan ? nil : record.wait)
    }
}

/// Counts each processed file once across scrapes: the exporter's high-water mark.
///
/// Every scrape reports the files processed within a window; the tracker adds to
/// `virus_scan_processed_total` and the `virus_scan_wait_seconds` histogram only what it has not
/// counted yet. A file is known by its ``ProcessedObservation/Identity`` (device and inode), so one
/// seen first as a tree arrival and a scrape later also in the journal (drain renames, then journals)
/// is counted once.
///
/// The mark trails the scrape time by `lag`: the next scrape looks back to `previous now − lag`, and
/// the tracker remembers every file it counted at or after that point. So a file renamed while a
/// walk was passing its directory (missed by that walk, time just before its `now`) is still counted
/// by the next scrape, and one seen by both is counted once. Files processed before the exporter
/// started (`countSince`) are never counted: the counters start at 0 with the process.
public final class ProcessedTracker: Sendable {
    public static let verdicts = ["clean", "infected", "error"]
    public let bounds: [Double]
    public let lag: Double
    /// `virus_scan_wait_recent_max_seconds` covers files processed within this many seconds.
    public let recentWindow: Double

    private struct State {
        var windowStart: Double
        /// Every observation counted at or after the window start, with the time it was counted at.
        var seen: [ProcessedObservation.Identity: Double] = [:]
        var counts: [String: [String: Int]] = [:]
        var waits: [String: HistogramSeries] = [:]
        var lastProcessed: [String: Double] = [:]
        var recent: [String: [(time: Double, wait: Double)]] = [:]
    }
    private let state: Mutex<State>

    /// - Parameters:
    ///   - countSince: files processed before this (epoch seconds) are history and not counted.
    ///   - lag: how far back each scrape looks before the previous scrape (seconds; above any walk's duration).
    public init(countSince: Double, lag: Double = 120, recentWindow: Double = 300, bounds: [Double] = AgeHistogram.standardBounds) {
        self.bounds = bounds
        self.lag = lag
        self.recentWindow = recentWindow
        state = Mutex(State(windowStart: countSince))
    }

    /// Start of the window the next scrape must cover (epoch seconds).
    public var windowStart: Double { state.withLock { $0.windowStart } }

    /// The window the next scrape at `now` must cover (seconds back from `now`).
    public func window(now: Double) -> Double {
        state.withLock { max(0, now - $0.windowStart) }
    }

    /// Counts the observations not counted yet; `queues` are the queues whose series must exist (at 0).
    public func record(_ observations: [ProcessedObservation], queues: [String], now: Double) {
        state.withLock { state in
            for queue in queues { ensure(queue, &state) }
            let floor = state.windowStart
            for observation in observations where observation.time >= floor {
                guard state.seen[observation.identity] == nil else { continue }
                state.seen[observation.identity] = observation.time
                ensure(observation.queue, &state)
                state.counts[observation.queue, default: [:]][observation.verdict, default: 0] += 1
                guard let wait = observation.wait else { continue }
                state.waits[observation.queue]?.observe(wait)
                state.lastProcessed[observation.queue] = max(state.lastProcessed[observation.queue] ?? 0, observation.time)
                state.recent[observation.queue, default: []].append((observation.time, wait))
            }
            for queue in state.recent.keys {
                state.recent[queue]!.removeAll { $0.time < now - recentWindow }
            }
            let newStart = max(floor, now - lag)
            state.windowStart = newStart
            state.seen = state.seen.filter { $0.value >= newStart }
        }
    }

    private func ensure(_ queue: String, _ state: inout State) {
        if state.counts[queue] == nil { state.counts[queue] = [:] }
        if state.waits[queue] == nil { state.waits[queue] = HistogramSeries(labels: [Label("queue", queue)], bounds: bounds) }
    }

    /// `virus_scan_processed_total{queue,verdict}`, `virus_scan_wait_seconds{queue}`,
    /// `virus_scan_wait_recent_max_seconds{queue}` and `virus_scan_last_processed_timestamp_seconds{queue}`
    /// (the last only for queues that processed a file).
    public func families() -> [MetricFamily] {
        state.withLock { state in
            let queues = state.counts.keys.sorted()
            var processed: [([Label], Double)] = []
            for queue in queues {
                let counts = state.counts[queue] ?? [:]
                for verdict in Self.verdicts + counts.keys.filter({ !Self.verdicts.contains($0) }).sorted() {
                    processed.append(([Label("queue", queue), Label("verdict", verdict)], Double(counts[verdict] ?? 0)))
                }
            }
            let from = "the scan journal and the outcome trees' arrivals, each file once"
            return [
                .counter(
                    "virus_scan_processed_total", help: "Files processed since the exporter started, by verdict (source: \(from)).",
                    processed),
                .histogram(
                    "virus_scan_wait_seconds", help: "Wait of processed files from placed on disk until scanned (source: \(from)).",
                    queues.compactMap { state.waits[$0] }),
                .gauge(
                    "virus_scan_wait_recent_max_seconds",
                    help: "Longest wait among files processed in the last 5 minutes (0 when none).",
                    queues.map { q in ([Label("queue", q)], (state.recent[q] ?? []).map(\.wait).max() ?? 0) }),
                .gauge(
                    "virus_scan_last_processed_timestamp_seconds", help: "Unix time the latest upload was processed, since the exporter started.",
                    queues.compactMap { q in state.lastProcessed[q].map { ([Label("queue", q)], $0) } }),
            ]
        }
    }
}
