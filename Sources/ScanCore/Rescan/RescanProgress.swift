import Foundation

/// The state file as `rescan-clean` writes it: every key ``RescanState`` reads (so the `rescan`
/// check mode and the exporter read it unchanged), plus the checkpoint that makes a pass resumable.
///
/// ```json
/// {"bytesDone": 9000, "bytesTotal": 41000, "completed": false, "databaseVersion": 27400,
///  "detections": 1, "engine": "libclamav", "errors": 0, "filesDone": 120, "filesTotal": 500,
///  "format": 1, "lastCompletedAt": 1795400000, "lastCompletedDuration": 5400, "mainVersion": 62,
///  "pid": 4242, "skipped": 0, "started": 1795600000.5, "updated": 1795600100.2, "yielding": false,
///  "trees": [{"queue": "incoming", "path": "/mnt/uploads/whitehall/clean", "done": false,
///             "checkpoint": "2024/05/report.pdf", "doneBeyond": ["2024/05/scan.pdf"]}]}
/// ```
///
/// Progress within a tree: the tree is walked in byte order of relative paths; every path at or
/// before `checkpoint` is done, and so is each path in `doneBeyond` (finished while an earlier file
/// was still being scanned; at most a few, bounded by the number of files in flight). Paths are
/// escaped with ``PathEscaping/display(_:)`` (lossless) and read back with
/// ``RescanPath/unescape(_:)``. The counters cover exactly the files done, so they stay exact
/// across a resume.
public struct RescanProgress: Codable, Sendable, Hashable {
    /// The version of this layout.
    public static let currentFormat = 1

    public var format: Int = currentFormat
    /// Start of the pass in progress (or of the last pass, once it completed), epoch seconds.
    public var started: Double?
    /// The daily database version the pass runs with.
    public var databaseVersion: Int?
    /// The main database version the pass runs with (a change starts a new pass too).
    public var mainVersion: Int?
    /// `libclamav` or `clamd`.
    public var engine: String?
    public var filesDone = 0
    public var filesTotal: Int?
    public var bytesDone: Int64 = 0
    public var bytesTotal: Int64?
    /// Files that could not be scanned this pass (never treated as infected).
    public var errors = 0
    /// Files found infected this pass (moved, or only reported with `--report-only`).
    public var detections = 0
    /// Entries that are not regular files (symlinks, FIFOs, sockets, devices): never followed, never scanned.
    public var skipped = 0
    /// The process running the pass (the last one, once it stopped).
    public var pid: Int32?
    /// When this file was written, epoch seconds.
    public var updated: Double?
    /// True while the pass waits for an incoming backlog older than `--yield-after` to clear.
    public var yielding = false
    /// Since when it has been yielding (nil when not).
    public var yieldingSince: Double?
    /// The pass finished: every tree was walked to its end.
    public var completed = false
    /// End of the last pass that finished, epoch seconds.
    public var lastCompletedAt: Double?
    /// How long that pass took from its start to its end (wall time, pauses included), seconds.
    public var lastCompletedDuration: Double?
    /// Per clean tree, in the order they are walked.
    public var trees: [TreeProgress] = []

    public struct TreeProgress: Codable, Sendable, Hashable {
        /// The queue whose clean tree this is.
        public var queue: String
        /// The clean tree's absolute path.
        public var path: String
        /// Every relative path at or before this one (byte order) is done; nil: nothing yet.
        public var checkpoint: String?
        /// Paths after the checkpoint that are done too.
        public var doneBeyond: [String] = []
        /// The whole tree is done.
        public var done = false
        /// Infected files being moved right now: a run killed mid-move finds them here and counts
        /// (and journals) the ones that left the clean tree, so nothing is counted twice or lost.
        public var moving: [MovingFile]?

        public init(queue: String, path: String, checkpoint: String? = nil, doneBeyond: [String] = [], done: Bool = false) {
            self.queue = queue
            self.path = path
            self.checkpoint = checkpoint
            self.doneBeyond = doneBeyond
            self.done = done
        }
    }

    /// A detection on its way to the infected tree.
    public struct MovingFile: Codable, Sendable, Hashable {
        public var path: String
        public var size: Int64
        public var placed: Double
        public var signature: String
        /// Its journal record was written.
        public var journaled: Bool = false
    }

    public init() {}

    enum CodingKeys: String, CodingKey {
        case format, started, databaseVersion, mainVersion, engine, filesDone, filesTotal, bytesDone, bytesTotal,
            errors, detections, skipped, pid, updated, yielding, yieldingSince, completed, lastCompletedAt,
            lastCompletedDuration, trees
    }

    /// Reads every key leniently: a file written by hand or by an older version (only the
    /// ``RescanState`` keys) still loads.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        format = try c.decodeIfPresent(Int.self, forKey: .format) ?? Self.currentFormat
        started = try c.decodeIfPresent(Double.self, forKey: .started)
        databaseVersion = try c.decodeIfPresent(Int.self, forKey: .databaseVersion)
        mainVersion = try c.decodeIfPresent(Int.self, forKey: .mainVersion)
        engine = try c.decodeIfPresent(String.self, forKey: .engine)
        filesDone = try c.decodeIfPresent(Int.self, forKey: .filesDone) ?? 0
        filesTotal = try c.decodeIfPresent(Int.self, forKey: .filesTotal)
        bytesDone = try c.decodeIfPresent(Int64.self, forKey: .bytesDone) ?? 0
        bytesTotal = try c.decodeIfPresent(Int64.self, forKey: .bytesTotal)
        errors = try c.decodeIfPresent(Int.self, forKey: .errors) ?? 0
        detections = try c.decodeIfPresent(Int.self, forKey: .detections) ?? 0
        skipped = try c.decodeIfPresent(Int.self, forKey: .skipped) ?? 0
        pid = try c.decodeIfPresent(Int32.self, forKey: .pid)
        updated = try c.decodeIfPresent(Double.self, forKey: .updated)
        yielding = try c.decodeIfPresent(Bool.self, forKey: .yielding) ?? false
        yieldingSince = try c.decodeIfPresent(Double.self, forKey: .yieldingSince)
        completed = try c.decodeIfPresent(Bool.self, forKey: .completed) ?? false
        lastCompletedAt = try c.decodeIfPresent(Double.self, forKey: .lastCompletedAt)
        lastCompletedDuration = try c.decodeIfPresent(Double.self, forKey: .lastCompletedDuration)
        trees = try c.decodeIfPresent([TreeProgress].self, forKey: .trees) ?? []
    }

    /// The fields the `rescan` check mode and the exporter read.
    public var state: RescanState {
        RescanState(
            started: started, databaseVersion: databaseVersion, filesDone: filesDone, filesTotal: filesTotal,
            bytesDone: bytesDone, bytesTotal: bytesTotal, errors: errors, detections: detections,
            lastCompletedAt: lastCompletedAt)
    }

    /// The JSON text (sorted keys, one line).
    public func json() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array((try? encoder.encode(self)) ?? Data())
    }

    /// Parses the JSON text.
    public init(json: [UInt8]) throws {
        self = try JSONDecoder().decode(RescanProgress.self, from: Data(json))
    }
}

/// Reads and replaces the state file atomically: the new text goes to a temp file in the same
/// directory, which is renamed over the old one, so a reader (or a run killed at any instant)
/// sees either the old file or the new one, never a mix. With `durable`, the temp file and the
/// directory are fsynced too, so the state also survives a power loss; without, it survives any
/// crash of the process (the kernel keeps what was written).
public struct RescanStateStore: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    /// What the file holds: nil when there is none; `.unreadable` when it cannot be parsed
    /// (a pass then starts afresh, which rescans more but never skips a file).
    public enum Loaded: Sendable {
        case none
        case progress(RescanProgress)
        case unreadable(String)
    }

    public func load() throws(RescanError) -> Loaded {
        let bytes: [UInt8]
        do {
            bytes = try readFileBytes(path, limit: 16 << 20, followSymlinks: false)
        } catch {
            if error.rawValue == ENOENT { return .none }
            throw RescanError(.io, "cannot read the rescan state file \(path): \(error)", cause: error)
        }
        do {
            return .progress(try RescanProgress(json: bytes))
        } catch {
            return .unreadable("\(error)")
        }
    }

    /// Replaces the file with `progress`.
    public func write(_ progress: RescanProgress, durable: Bool) throws(RescanError) {
        let data = progress.json() + [UInt8(ascii: "\n")]
        let temp = path + ".tmp"
        do {
            try AtomicFile.write(data, to: path, options: AtomicFile.Options(temporaryPath: temp, durable: durable))
        } catch {
            let saved = error.errno.rawValue
            switch error.call {
            case .open:
                throw RescanError(.stateUnwritable, "cannot write the rescan state file \(temp): \(errnoText(saved)); check --state-dir", cause: error.errno)
            case .write, .close:
                throw RescanError(.stateUnwritable, "cannot write the rescan state file \(temp): \(errnoText(saved))", cause: error.errno)
            case .fsync where error.path == temp:
                throw RescanError(.stateUnwritable, "cannot fsync the rescan state file \(temp): \(errnoText(saved))", cause: error.errno)
            case .rename:
                throw RescanError(.stateUnwritable, "cannot rename \(temp) to \(path): \(errnoText(saved))", cause: error.errno)
            default:
                throw RescanError(.stateUnwritable, "cannot make the rescan state file \(path) durable: \(error)", cause: error.errno)
            }
        }
    }
}
