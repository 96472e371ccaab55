/// One queue as the check saw it: its snapshot, or why there is none.
public struct QueueReading: Sendable {
    public var queue: QueueDefinition
    public var snapshot: Result<QueueSnapshot, PipelineError>

    public init(queue: QueueDefinition, snapshot: Result<QueueSnapshot, PipelineError>) {
        self.queue = queue
        self.snapshot = snapshot
    }

    /// Takes the snapshot; a missing or unreadable directory becomes a failed reading, not an error.
    public static func take(_ queue: QueueDefinition, now: Double, options: SnapshotOptions) -> QueueReading {
        do {
            return QueueReading(queue: queue, snapshot: .success(try QueueSnapshot.take(queue, now: now, options: options)))
        } catch {
            return QueueReading(queue: queue, snapshot: .failure(error))
        }
    }
}

/// The parts of the plugin's findings that several queue modes share.
enum QueueFindings {
    /// The state for a queue directory that could not be walked: missing or not a directory is the
    /// pipeline's failure (CRITICAL); unreadable is the plugin's (UNKNOWN).
    static func state(for error: PipelineError) -> ServiceState {
        switch error.code {
        case .queueMissing, .notADirectory: .critical
        default: .unknown
        }
    }

    /// Results for failed readings and for directories inside a queue that could not be read.
    static func problems(_ readings: [QueueReading]) -> [CheckResult] {
        var results: [CheckResult] = []
        for reading in readings {
            switch reading.snapshot {
            case .failure(let error):
                results.append(CheckResult(state(for: error), "queue \(reading.queue.name): \(error.message)"))
            case .success(let snapshot) where snapshot.unreadableCount > 0:
                let first = snapshot.unreadable.first.map { ", e.g. \($0.displayPath): \($0.message)" } ?? ""
                results.append(
                    CheckResult(
                        .unknown,
                        "queue \(reading.queue.name): \(snapshot.unreadableCount) \(snapshot.unreadableCount == 1 ? "directory" : "directories") unreadable\(first)"
                    ))
            default:
                break
            }
        }
        return results
    }

    /// Long-output lines for one queue: a header, the oldest files, and with `-v` the
    /// per-subdirectory breakdown, anomalies and unreadable directories.
    static func details(_ reading: QueueReading, verbosity: Int, topN: Int) -> [String] {
        switch reading.snapshot {
        case .failure(let error):
            return ["[\(state(for: error))] queue \(reading.queue.name): \(error.message)"]
        case .success(let snapshot):
            var lines: [String] = []
            let state: ServiceState = snapshot.unreadableCount > 0 ? .unknown : .ok
            var header = "[\(state)] queue \(snapshot.queue) (\(PathEscaping.display(Array(snapshot.path.utf8)))): \(files(snapshot.files)), \(ByteText.format(Double(snapshot.bytes)))"
            if let oldest = snapshot.oldestAge { header += ", oldest \(DurationText.format(oldest))" }
            if let p = snapshot.percentiles, snapshot.files > 1 {
                header += ", median age \(DurationText.format(p.p50))"
            }
            lines.append(header)
            for file in snapshot.oldest.prefix(topN) {
                lines.append("  \(DurationText.format(file.age)) \(ByteText.format(Double(file.size))) \(file.displayPath)")
            }
            if snapshot.files > min(topN, snapshot.oldest.count) && !snapshot.oldest.isEmpty {
                lines.append("  (\(snapshot.files - min(topN, snapshot.oldest.count)) more not listed)")
            }
            if verbosity >= 1 {
                for sub in snapshot.subdirectories.prefix(verbosity >= 2 ? 100 : 20) {
                    var line = "  dir \(sub.displayName): \(files(sub.files)), \(ByteText.format(Double(sub.bytes)))"
                    if let age = sub.oldestAge { line += ", oldest \(DurationText.format(age))" }
                    lines.append(line)
                }
            }
            if snapshot.anomalies.count > 0 {
                let kinds = snapshot.anomalies.byKind.sorted { $0.key.rawValue < $1.key.rawValue }
                    .map { "\($0.key.rawValue) \($0.value)" }.joined(separator: ", ")
                let samples = snapshot.anomalies.samples.prefix(5).map(\.displayPath).joined(separator: ", ")
                lines.append("  \(snapshot.anomalies.count) entries are not regular files and were not counted (\(kinds)): \(samples)")
            }
            for problem in snapshot.unreadable {
                lines.append("  unreadable directory \(problem.displayPath): \(problem.message)")
            }
            if snapshot.birthTimeFallbacks > 0 {
                lines.append("  \(snapshot.birthTimeFallbacks) files have no birth time; their mtime was used")
            }
            return lines
        }
    }

    static func files(_ n: Int) -> String { n == 1 ? "1 file" : "\(n) files" }
}
