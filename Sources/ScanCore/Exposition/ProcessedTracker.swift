import Synchronization

/// One processed file, from either source: the scan journal or an outcome tree's arrivals.
public struct ProcessedObservation: Sendable, Hashable {
    public var queue: String
    /// `clean`, `infected` or `error`.
    public var verdict: String
    /// Identifies the file within the queue (relative path bytes).
    public var path: [UInt8]
    /// When it was processed (journal `scanned`, or arrival ctime), epoch seconds.
    public var time: Double
    public var wait: Double

    public init(queue: String, verdict: String, path: [UInt8], time: Double, wait: Double) {
        self.queue = queue
        self.verdict = verdict
        self.path = path
        self.time = time
        self.wait = wait
    }
}

/// Where processed counts come from in one scrape.
public enum ProcessedSource: String, Sendable {
    /// The scan journal (`drain` and `rescan-clean` write it): has error verdicts and exact scan times.
    case journal
    /// The outcome trees' arrivals (ctime of the rename), for pipelines scanned by another program.
    case trees
}

/// Counts each processed file once across scrapes: the exporter's high-water mark.
///
/// Every scrape reports the files processed within a window; the tracker adds to
/// `virus_scan_processed_total` and the `virus_scan_wait_seconds` histogram only what it has not
/// counted yet.
///
/// The mark trails the scrape time by `lag`: the next scrape looks back to `previous now − lag`, and
/// the tracker remembers every file it counted at or after that point. So a file renamed while a
/// walk was passing its directory (missed by that walk, time just before its `now`) is still counted
/// by the next scrape, and one seen by both is counted once. Files processed before the exporter
/// started (`countSince`) are never counted: the counters start at 0 with the process.
public final class ProcessedTracker: Sendable {
    struct Key: Hashable, Sendable {
        var queue: String
        var path: [UInt8]
        var time: Double
    }

    public static let verdicts = ["clean", "infected", "error"]
    public let bounds: [Double]
    public let lag: Double
    /// `virus_scan_wait_recent_max_seconds` covers files processed within this many seconds.
    public let recentWindow: Double

    private struct State {
        var windowStart: Double
        var seen: Set<Key> = []
        var counts: [String: [String: Int]] = [:]
        var waits: [String: HistogramSeries] = [:]
        var lastProcessed: [String: Double] = [:]
        var recent: [String: [(time: Double, wait: Double)]] = [:]
        var decided: (now: Double, source: ProcessedSource)?
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

    /// The source for the scrape at `now`, decided once per scrape: every collector of one scrape gets
    /// the same `now` and so the same answer (the journal when `journalExists()` says so).
    public func source(now: Double, journalExists: () -> Bool) -> ProcessedSource {
        state.withLock { state in
            if let decided = state.decided, decided.now == now { return decided.source }
            let source: ProcessedSource = journalExists() ? .journal : .trees
            state.decided = (now, source)
            return source
        }
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
                let key = Key(queue: observation.queue, path: observation.path, time: observation.time)
                guard state.seen.insert(key).inserted else { continue }
                ensure(observation.queue, &state)
                state.counts[observation.queue, default: [:]][observation.verdict, default: 0] += 1
                state.waits[observation.queue]?.observe(observation.wait)
                state.lastProcessed[observation.queue] = max(state.lastProcessed[observation.queue] ?? 0, observation.time)
                state.recent[observation.queue, default: []].append((observation.time, observation.wait))
            }
            for queue in state.recent.keys {
                state.recent[queue]!.removeAll { $0.time < now - recentWindow }
            }
            let newStart = max(floor, now - lag)
            state.windowStart = newStart
            state.seen = state.seen.filter { $0.time >= newStart }
        }
    }

    private func ensure(_ queue: String, _ state: inout State) {
        if state.counts[queue] == nil { state.counts[queue] = [:] }
        if state.waits[queue] == nil { state.waits[queue] = HistogramSeries(labels: [Label("queue", queue)], bounds: bounds) }
    }

    /// `virus_scan_processed_total{queue,verdict}`, `virus_scan_wait_seconds{queue}`,
    /// `virus_scan_wait_recent_max_seconds{queue}` and `virus_scan_last_processed_timestamp_seconds{queue}`
    /// (the last only for queues that processed a file).
    public func families(source: ProcessedSource) -> [MetricFamily] {
        state.withLock { state in
            let queues = state.counts.keys.sorted()
            var processed: [([Label], Double)] = []
            for queue in queues {
                let counts = state.counts[queue] ?? [:]
                for verdict in Self.verdicts + counts.keys.filter({ !Self.verdicts.contains($0) }).sorted() {
                    processed.append(([Label("queue", queue), Label("verdict", verdict)], Double(counts[verdict] ?? 0)))
                }
            }
            let from = source == .journal ? "the scan journal" : "the outcome trees' arrivals; error needs the journal"
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
                    "virus_scan_last_processed_timestamp_seconds", help: "Unix time the latest processed file was scanned, since the exporter started.",
                    queues.compactMap { q in state.lastProcessed[q].map { ([Label("queue", q)], $0) } }),
            ]
        }
    }
}
