import Synchronization

/// Counters for this run only.
struct RunStats: Sendable {
    var files = 0
    var bytes: Int64 = 0
    var detections = 0
    var errors = 0
    var yieldedSeconds = 0.0
    var held: [String: Int] = [:]
    var matched: [String: Int] = [:]

    mutating func add(_ result: FileResult) {
        if let held = result.held {
            self.held[held.signature, default: 0] += 1
            matched[held.signature] = max(matched[held.signature] ?? 0, held.matched)
        }
        switch result.kind {
        case .clean: files += 1; bytes += result.size
        case .infected: files += 1; bytes += result.size; detections += 1
        case .error: files += 1; bytes += result.size; errors += 1
        case .skipped, .vanished: break
        }
    }

    mutating func merge(_ other: RunStats) {
        files += other.files
        bytes += other.bytes
        detections += other.detections
        errors += other.errors
        yieldedSeconds += other.yieldedSeconds
        held.merge(other.held, uniquingKeysWith: +)
        matched.merge(other.matched, uniquingKeysWith: max)
    }

    func summary(_ outcome: RescanSummary.Outcome, _ progress: RescanProgress, started: Double) -> RescanSummary {
        var summary = RescanSummary(outcome: outcome, progress: progress, filesScanned: files, bytesScanned: bytes, detections: detections,
                                    errors: errors, seconds: MonotonicClock.now() - started, yieldedSeconds: yieldedSeconds)
        summary.held = held
        summary.matched = matched
        return summary
    }
}

/// Run counters shared by the scanning threads.
final class LockedStats: Sendable {
    private let stats = Mutex(RunStats())
    func add(_ result: FileResult) { stats.withLock { $0.add(result) } }
    var value: RunStats { stats.withLock { $0 } }
}
