import Synchronization

/// Counts each processed file once across scrapes: the exporter's high-water mark.
///
/// Every scrape reports the files that arrived in an outcome tree within a window (see
/// ``OutcomeSnapshot``); the tracker adds to `virus_scan_processed_total` and the
/// `virus_scan_wait_seconds` histogram only the arrivals it has not counted yet.
///
/// The mark trails the scrape time by `lag`: the next scrape looks back to `previous now − lag`, and
/// the tracker remembers every file it counted whose arrival is at or after that point. So a file
/// renamed while a walk was passing its directory (missed by that walk, arrival just before its
/// `now`) is still counted by the next scrape, and one seen by both is counted once. Files that
/// arrived before the exporter started (`countSince`) are never counted: counters start at 0 with the process.
public final class ProcessedTracker: Sendable {
    public struct Key: Hashable, Sendable {
        public var queue: String
        public var outcome: Outcome
        public var path: [UInt8]
        public var arrived: Double
    }

    public let bounds: [Double]
    public let lag: Double
    private struct State {
        var windowStart: Double
        var seen: Set<Key> = []
        var counts: [String: [Outcome: Int]] = [:]
        var waits: [String: HistogramSeries] = [:]
        var lastArrival: [String: Double] = [:]
    }
    private let state: Mutex<State>

    /// - Parameters:
    ///   - countSince: arrivals before this (epoch seconds) are history and not counted.
    ///   - lag: how far back each scrape looks before the previous scrape (seconds; above any walk's duration).
    public init(countSince: Double, lag: Double = 120, bounds: [Double] = AgeHistogram.standardBounds) {
        self.bounds = bounds
        self.lag = lag
        state = Mutex(State(windowStart: countSince))
    }

    /// The window the next scrape at `now` must cover (seconds back from `now`).
    public func window(now: Double) -> Double {
        state.withLock { max(0, now - $0.windowStart) }
    }

    /// Counts the arrivals not counted yet; `queues` are the queues whose series must exist (at 0).
    public func record(_ snapshots: [OutcomeSnapshot], queues: [String], now: Double) {
        state.withLock { state in
            for queue in queues {
                if state.counts[queue] == nil { state.counts[queue] = [:] }
                if state.waits[queue] == nil { state.waits[queue] = HistogramSeries(labels: [Label("queue", queue)], bounds: bounds) }
            }
            let floor = state.windowStart
            for snapshot in snapshots {
                for file in snapshot.arrivals where file.arrived >= floor {
                    let key = Key(queue: snapshot.queue, outcome: snapshot.outcome, path: file.relativePath, arrived: file.arrived)
                    guard state.seen.insert(key).inserted else { continue }
                    state.counts[snapshot.queue, default: [:]][snapshot.outcome, default: 0] += 1
                    state.waits[snapshot.queue, default: HistogramSeries(labels: [Label("queue", snapshot.queue)], bounds: bounds)]
                        .observe(file.wait)
                    state.lastArrival[snapshot.queue] = max(state.lastArrival[snapshot.queue] ?? 0, file.arrived)
                }
            }
            let newStart = max(floor, now - lag)
            state.windowStart = newStart
            state.seen = state.seen.filter { $0.arrived >= newStart }
        }
    }

    /// `virus_scan_processed_total{queue,verdict}`, `virus_scan_wait_seconds{queue}` and
    /// `virus_scan_last_processed_timestamp_seconds{queue}` (only for queues that processed a file).
    public func families() -> [MetricFamily] {
        state.withLock { state in
            let queues = state.counts.keys.sorted()
            var processed: [([Label], Double)] = []
            for queue in queues {
                let counts = state.counts[queue] ?? [:]
                processed.append(([Label("queue", queue), Label("verdict", "clean")], Double(counts[.clean] ?? 0)))
                processed.append(([Label("queue", queue), Label("verdict", "infected")], Double(counts[.infected] ?? 0)))
                // Files the scanner could not scan stay in the queue; the trees cannot see them (the journal can).
                processed.append(([Label("queue", queue), Label("verdict", "error")], 0))
            }
            return [
                .counter(
                    "virus_scan_processed_total", help: "Files processed since the exporter started, by verdict (from the outcome trees' arrivals).",
                    processed),
                .histogram(
                    "virus_scan_wait_seconds", help: "Wait of processed files from placed on disk until scanned (arrival in an outcome tree).",
                    queues.compactMap { state.waits[$0] }),
                .gauge(
                    "virus_scan_last_processed_timestamp_seconds", help: "Unix time of the latest arrival in an outcome tree seen since the exporter started.",
                    queues.compactMap { q in state.lastArrival[q].map { ([Label("queue", q)], $0) } }),
            ]
        }
    }
}
