import Synchronization

/// Why a scan ended in an error, for `virus_scan_scan_errors_total{reason}`.
public enum ScanErrorReason: String, Sendable, CaseIterable {
    /// The scan took longer than its deadline (clamd's or the scanning process's).
    case timeout
    /// The file is over a size or recursion limit (ours, clamd's, libclamav's).
    case limits
    /// The file could not be opened, read or stat'ed, or is not a regular file.
    case io
    /// The engine failed: clamd unreachable or answering an error, libclamav or its process failing.
    case engine
    /// The file changed while it was scanned (still being written).
    case changed

    /// Classifies the message a scan error's journal record carries (its `signature` field: the
    /// engine's or the command's own words). Anything not recognised is `engine`.
    public static func classify(_ message: String?) -> ScanErrorReason {
        guard let message else { return .engine }
        let text = message.lowercased()
        func has(_ words: String...) -> Bool { words.contains { text.contains($0) } }
        if has("changed while", "still being written") { return .changed }
        if has("timed out", "timeout") { return .timeout }
        if has("size limit", "over clamd's limit", "limits.exceeded", "limits exceeded", "exceeds", "maxfilesize", "maxscansize",
               "streammaxlength", "cl_emaxsize", "cl_emaxrec", "cl_emaxfiles", "max recursion", "too large") { return .limits }
        if has("cannot open", "cannot read", "cannot stat", "cannot rewind", "no such file", "permission denied",
               "not a regular file", "input/output error", "i/o error", "is a directory") { return .io }
        return .engine
    }
}

/// What the exporter reads from the scan journal about the scans themselves: detections by
/// signature, scan durations, scan errors by reason. Each journal record is counted once (by queue,
/// path, scan time, verdict and source), from the exporter's start on, with the same trailing
/// window as ``ProcessedTracker``.
///
/// **Bounded cardinality** of `virus_scan_detections_total{queue,signature}`: the first `topK`
/// distinct signatures seen since the exporter started have a series of their own, every later one
/// is summed as `signature="other"`. A counter must never go down, so a label once given is never
/// taken back (moving a signature out of `other` would lower `other`); the series always add up to
/// every detection. Which signatures are the *top* ones right now is the job of
/// `virus_scan_detections_recent`, the gauge alerts use: files quarantined per signature within the
/// last `recentWindow` (1 h), read from the journal (before the exporter started too), the `topK`
/// largest by name and the rest as `other`.
public final class ScanActivityTracker: Sendable {
    public static let durationBounds: [Double] = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300]
    public static let defaultTopK = 20
    public static let other = "other"

    public let topK: Int
    public let lag: Double
    public let recentWindow: Double

    struct Key: Hashable {
        var queue: String
        var path: String
        var scanned: Double
        var verdict: String
        var source: String
    }

    private struct State {
        var windowStart: Double
        var seen: [Key: Double] = [:]
                var exposed: Set<String> = []
        var detections: [String: [String: Int]] = [:]
        var durations: [String: HistogramSeries] = [:]
        var errors: [String: [ScanErrorReason: Int]] = [:]
        var recent: [String: [String: Int]] = [:]
    }
    private let state: Mutex<State>

    public init(countSince: Double, topK: Int = defaultTopK, lag: Double = 120, recentWindow: Double = 3600) {
        precondition(topK >= 1, "topK must be at least 1")
        self.topK = topK
        self.lag = lag
        self.recentWindow = recentWindow
        state = Mutex(State(windowStart: countSince))
    }

    /// Where the next read of the journal must start: the counted window, and the recent hour.
    public func readStart(now: Double) -> Double {
        state.withLock { min($0.windowStart, now - recentWindow) }
    }

    /// Counts the records not counted yet (those at or after the window start), and recomputes the
    /// recent-detections gauge from every record within the recent window.
    public func record(_ records: [JournalRecord], queues: [String], now: Double) {
        state.withLock { state in
            for queue in queues { ensure(queue, &state) }
            let floor = state.windowStart
            var recent: [String: [String: Int]] = Dictionary(uniqueKeysWithValues: queues.map { ($0, [:]) })
            var recentTotals: [String: Int] = [:]
            let selected = Set(queues)
            for record in records where selected.isEmpty || selected.contains(record.queue) {
                if record.verdict == "infected", record.scanned >= now - recentWindow, record.action != "dry-run" {
                    let signature = record.signature ?? "unknown"
                    recent[record.queue, default: [:]][signature, default: 0] += 1
                    recentTotals[signature, default: 0] += 1
                }
                guard record.scanned >= floor else { continue }
                let key = Key(queue: record.queue, path: record.path, scanned: record.scanned, verdict: record.verdict, source: record.source)
                guard state.seen[key] == nil else { continue }
                state.seen[key] = record.scanned
                ensure(record.queue, &state)
                if record.duration.isFinite, record.duration >= 0 { state.durations[record.queue]?.observe(record.duration) }
                switch record.verdict {
                case "infected" where record.action != "dry-run":
                    let signature = record.signature ?? "unknown"
                    expose(signature, &state)
                    let bucket = state.exposed.contains(signature) ? signature : Self.other
                    state.detections[record.queue, default: [:]][bucket, default: 0] += 1
                case "error":
                    state.errors[record.queue, default: [:]][ScanErrorReason.classify(record.signature), default: 0] += 1
                default:
                    break
                }
            }
            // The gauge: the top K signatures of the recent window, the rest as other.
            let top = Set(recentTotals.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.prefix(topK).map(\.key))
            state.recent = recent.mapValues { counts in
                var folded: [String: Int] = [Self.other: 0]
                for (signature, count) in counts { folded[top.contains(signature) ? signature : Self.other, default: 0] += count }
                return folded
            }
            let newStart = max(floor, now - lag)
            state.windowStart = newStart
            state.seen = state.seen.filter { $0.value >= newStart }
        }
    }

    private func expose(_ signature: String, _ state: inout State) {
        if state.exposed.count < topK { state.exposed.insert(signature) }
    }

    private func ensure(_ queue: String, _ state: inout State) {
        if state.durations[queue] == nil { state.durations[queue] = HistogramSeries(labels: [Label("queue", queue)], bounds: Self.durationBounds) }
        if state.detections[queue] == nil { state.detections[queue] = [Self.other: 0] }
        if state.errors[queue] == nil { state.errors[queue] = [:] }
    }

    public func families() -> [MetricFamily] {
        state.withLock { state in
            let queues = state.durations.keys.sorted()
            func series(_ table: [String: [String: Int]]) -> [([Label], Double)] {
                table.keys.sorted().flatMap { queue in
                    (table[queue] ?? [:]).sorted { $0.key < $1.key }.map { ([Label("queue", queue), Label("signature", $0.key)], Double($0.value)) }
                }
            }
            return [
                .counter(
                    "virus_scan_detections_total",
                    help: "Files quarantined since the exporter started, by the signature that matched (from the scan journal; the first \(topK) signatures seen have their own series, later ones are summed as other).",
                    series(state.detections)),
                .gauge(
                    "virus_scan_detections_recent",
                    help: "Files quarantined per signature within the last \(Int(recentWindow)) s, from the scan journal (top \(topK) signatures, the rest as other).",
                    series(state.recent)),
                .histogram(
                    "virus_scan_scan_duration_seconds", help: "Time each scan took (drain and rescan-clean, from the scan journal) since the exporter started.",
                    queues.compactMap { state.durations[$0] }),
                .counter(
                    "virus_scan_scan_errors_total",
                    help: "Scans that ended in an error since the exporter started, by reason (timeout, limits, io, engine, changed; from the scan journal's error messages).",
                    queues.flatMap { queue in
                        ScanErrorReason.allCases.map { ([Label("queue", queue), Label("reason", $0.rawValue)], Double(state.errors[queue]?[$0] ?? 0)) }
                    }),
            ]
        }
    }
}
