import Foundation

/// One processed file, as `drain` and `rescan-clean` record it in the scan journal.
///
/// The journal is JSON Lines (one object per line) so operators can read it with `jq`. Its growth is
/// bounded by the writer (see ``ScanJournal``); an external logrotate is not needed.
public struct JournalRecord: Codable, Sendable, Hashable {
    /// When the record was written, epoch seconds.
    public var time: Double
    /// The queue's name (`incoming`, `draft-incoming`).
    public var queue: String
    /// Path relative to the queue directory, escaped with `PathEscaping.display` (lossless).
    public var path: String
    public var size: Int64
    /// When the file was placed on disk (mtime, or btime when so configured), epoch seconds.
    public var placed: Double
    /// When its verdict was known, epoch seconds. Wait = scanned − placed.
    public var scanned: Double
    /// `clean`, `infected` or `error`.
    public var verdict: String
    /// The signature that matched (infected), or the engine's message (error).
    public var signature: String?
    /// Seconds the scan itself took.
    public var duration: Double
    /// `drain` or `rescan`.
    public var source: String
    /// `clamd`, `libclamav`, …
    public var engine: String?
    /// What was done with the file: `moved`, `kept` (error, conflict, still being written),
    /// `dropped-duplicate`, `report-only`, `dry-run`.
    public var action: String?
    /// The pipeline that wrote the record: ``PipelineLayout/pipelineIdentity`` (the real path of the
    /// layout's root). Readers skip records of other pipelines sharing the state directory; records
    /// without it (written before 0.9) are "unattributed" and never counted (see ``JournalRead``).
    public var pipeline: String?
    /// Inode and device of the file where the move left it (the outcome tree), or of the scanned
    /// file when it was not moved: how a record and the same file's arrival in an outcome tree are
    /// recognised as one (``ProcessingHistory``).
    public var inode: UInt64?
    public var device: UInt64?

    public init(time: Double, queue: String, path: String, size: Int64, placed: Double, scanned: Double,
                verdict: String, signature: String? = nil, duration: Double, source: String,
                engine: String? = nil, action: String? = nil, pipeline: String? = nil,
                inode: UInt64? = nil, device: UInt64? = nil) {
        self.time = time
        self.queue = queue
        self.path = path
        self.size = size
        self.placed = placed
        self.scanned = scanned
        self.verdict = verdict
        self.signature = signature
        self.duration = duration
        self.source = source
        self.engine = engine
        self.action = action
        self.pipeline = pipeline
        self.inode = inode
        self.device = device
    }

    /// Waiting time from placed on disk until scanned (never negative).
    public var wait: Double { max(0, scanned - placed) }
}

/// What a read of the journal's window found: the records of this pipeline, and what was left out.
public struct JournalRead: Sendable {
    /// Records of this pipeline (or every record when the read named no pipeline), oldest first.
    public var records: [JournalRecord]
    /// Lines in the part read that could not be parsed.
    public var malformed: Int
    /// Records in the window written by another pipeline sharing the state directory (skipped).
    public var otherPipelines: Int
    /// Records in the window with no `pipeline` field (written before 0.9): never counted, because
    /// nothing tells whose they are; the files they moved still show as outcome-tree arrivals.
    public var unattributed: Int
    /// When the window starts before everything the journal still holds (it was rotated meanwhile):
    /// the `scanned` time of the oldest record kept. Records before it were dropped by rotation.
    public var coversSince: Double?

    public init(records: [JournalRecord] = [], malformed: Int = 0, otherPipelines: Int = 0, unattributed: Int = 0,
                coversSince: Double? = nil) {
        self.records = records
        self.malformed = malformed
        self.otherPipelines = otherPipelines
        self.unattributed = unattributed
        self.coversSince = coversSince
    }
}

/// The pipeline's scan journal: appended by the commands that scan, read by the check (`wait`,
/// `infected`, `stuck`) and the exporter.
///
/// **Bounded growth, done by the writer**: an append that would take the file past `rotateBytes`
/// (64 MiB by default, about 190,000 records) first renames it to `journal.jsonl.1` (replacing the
/// previous generation), so the journal never holds more than twice that on disk. Rotation happens
/// under an exclusive `flock` on the file being rotated and only while the path still names that file,
/// so two writers never both rotate (one generation lost); writers that opened the old file a moment
/// before append to it as `.1`, where readers still find their records. Readers read the current
/// file backwards and continue into `.1` when the window reaches past the current file's start; when
/// the window reaches past `.1` too, ``JournalRead/coversSince`` says how far back the journal goes.
/// An external logrotate is not needed; one with `copytruncate` or `create` still works (a truncated
/// or missing file reads as empty), but compressed generations are not read.
public struct ScanJournal: Sendable {
    public let path: String
    /// The pipeline stamped on appended records that do not name one, and the one readers keep.
    public let pipeline: String?
    /// The size past which an append rotates the file first.
    public let rotateBytes: Int
    public static let defaultRotateBytes = 64 << 20

    public init(path: String, pipeline: String? = nil, rotateBytes: Int = defaultRotateBytes) {
        self.path = path
        self.pipeline = pipeline
        self.rotateBytes = rotateBytes
    }

    public init(layout: PipelineLayout) { self.init(path: layout.journalPath, pipeline: layout.pipelineIdentity) }

    /// The previous generation, after a rotation.
    public var rotatedPath: String { path + ".1" }

    /// Whether the journal file exists.
    public var exists: Bool { Sys.access(path, F_OK) }

    /// Appends records, one JSON line each, in a single write on an O_APPEND descriptor, so
    /// concurrent writers never interleave within a line. Records without a pipeline get this
    /// journal's. Creates the state directory if needed; rotates first when the file is full.
    public func append(_ records: [JournalRecord]) throws(Errno) {
        guard !records.isEmpty else { return }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var data: [UInt8] = []
        for var record in records {
            if record.pipeline == nil { record.pipeline = pipeline }
            guard let line = try? encoder.encode(record) else { continue }
            data.append(contentsOf: line)
            data.append(UInt8(ascii: "\n"))
        }
        try Self.makeDirectories(String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)]))
        var fd: Int32 = -1
        var info = Glibc.stat()
        for attempt in 0..<3 {
            fd = try Sys.open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0o644).mapError(\.errno).get()
            switch Sys.fstat(fd, path: path) {
            case .success(let now): info = now
            case .failure(let failure): _ = Sys.close(fd); throw failure.errno
            }
            guard attempt < 2, info.st_size > 0, Int(info.st_size) + data.count > rotateBytes else { break }
            // Full: rotate, unless another writer did since we opened it (then open the new file).
            _ = Sys.flock(fd, LOCK_EX, path: path)
            if case .success(let current) = Sys.statFollowing(path), current.st_ino == info.st_ino && current.st_dev == info.st_dev {
                if case .failure(let failure) = Sys.rename(path, rotatedPath) { _ = Sys.close(fd); throw failure.errno }
            }
            _ = Sys.close(fd)
        }
        defer { _ = Sys.close(fd) }
        // A writer killed mid-line leaves a partial last line: start on a fresh line so the
        // records appended now are not glued onto it.
        if info.st_size > 0 {
            var last: UInt8 = 0
            if case .success(1) = Sys.pread(fd, &last, 1, Int64(info.st_size - 1), path: path), last != UInt8(ascii: "\n") {
                data.insert(UInt8(ascii: "\n"), at: 0)
            }
        }
        try SystemError.errnoOnly { () throws(SystemError) in try FileIO.writeAll(fd, data, path: path) }
    }

    /// Every record (of any pipeline) whose `scanned` time is at or after `since`, oldest first, and
    /// the malformed lines met. See ``read(since:slack:)``.
    public func records(since: Double, slack: Double = 300) throws(Errno) -> (records: [JournalRecord], skipped: Int) {
        let read = try read(since: since, slack: slack, allPipelines: true)
        return (read.records, read.malformed)
    }

    /// The records whose `scanned` time is at or after `since`, oldest first: this journal's
    /// pipeline's only (unless `allPipelines`), the others counted. Reads the file backwards from its
    /// end (then the rotated generation) and stops after 64 records in a row older than `since` minus a slack
    /// (records are appended in nearly scanned order; parallel writers and a clock step may put a few
    /// out of order), so the cost is proportional to the window, not to the journal's size. Malformed lines are counted,
    /// never fatal. A missing journal reads as empty.
    public func read(since: Double, slack: Double = 300, allPipelines: Bool = false) throws(Errno) -> JournalRead {
        var result = JournalRead()
        var state = ReadState()
        var opened: [(dev: UInt64, ino: UInt64)] = []
        for file in [path, rotatedPath] {
            let fd: Int32
            do { fd = try openRegularFile(file, followSymlinks: false) } catch {
                if error.rawValue == ENOENT { continue }
                throw error
            }
            defer { _ = Sys.close(fd, path: file) }
            let info: Glibc.stat
            switch Sys.fstat(fd, path: file) {
            case .success(let stat): info = stat
            case .failure(let failure): throw failure.errno
            }
            // Rotated between the two opens: the "previous generation" is the file already read.
            let identity = (dev: UInt64(info.st_dev), ino: UInt64(info.st_ino))
            if opened.contains(where: { $0 == identity }) { break }
            opened.append(identity)
            if file == rotatedPath { state.rotated = true }
            try readBackwards(fd, size: Int(info.st_size), since: since, slack: slack, state: &state)
            if state.done { break }
        }
        for record in state.collected {
            if !allPipelines {
                guard let owner = record.pipeline else { result.unattributed += 1; continue }
                if owner != pipeline { result.otherPipelines += 1; continue }
            }
            result.records.append(record)
        }
        result.malformed = state.malformed
        if !state.done && state.rotated, let oldest = state.oldest, oldest > since { result.coversSince = oldest }
        result.records.sort { $0.scanned != $1.scanned ? $0.scanned < $1.scanned : $0.path < $1.path }
        return result
    }

    private struct ReadState {
        var collected: [JournalRecord] = []
        var malformed = 0
        var oldStreak = 0
        var done = false
        var rotated = false
        var oldest: Double?
    }

    private func readBackwards(_ fd: Int32, size: Int, since: Double, slack: Double, state: inout ReadState) throws(Errno) {
        var end = size
        let chunkSize = 256 * 1024
        var carry: [UInt8] = []  // the start of a line whose beginning is in the previous chunk
        let decoder = JSONDecoder()
        func take(_ line: some Collection<UInt8>) {
            guard let record = try? decoder.decode(JournalRecord.self, from: Data(line)) else {
                state.malformed += 1
                return
            }
            state.oldest = min(state.oldest ?? record.scanned, record.scanned)
            if record.scanned < since - slack {
                state.oldStreak += 1
                if state.oldStreak >= 64 { state.done = true }
                return
            }
            state.oldStreak = 0
            if record.scanned >= since { state.collected.append(record) }
        }
        while end > 0 && !state.done {
            let start = max(0, end - chunkSize)
            var chunk = [UInt8](repeating: 0, count: end - start)
            var got = 0
            while got < chunk.count {
                let n = chunk[got...].withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(start + got)) }
                if n < 0 { if errno == EINTR { continue }; throw Errno(errno) }
                if n == 0 { break }
                got += n
            }
            chunk.removeLast(chunk.count - got)
            chunk.append(contentsOf: carry)
            var lines = chunk.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
            // The first piece may be a partial line unless we reached the file's start.
            carry = start > 0 ? Array(lines.removeFirst()) : []
            for line in lines.reversed() where !line.isEmpty {
                take(line)
                if state.done { break }
            }
            end = start
        }
        if !state.done && !carry.isEmpty { take(carry) }
    }

    static func makeDirectories(_ path: String) throws(Errno) {
        try SystemError.errnoOnly { () throws(SystemError) in try Directories.makeAll(path) }
    }
}

extension PipelineLayout {
    /// What journal records name as their pipeline: the real path of the layout's root (symlinks
    /// resolved, so `/mnt/uploads/whitehall` and a symlink to it are one pipeline), or the root as
    /// written when it cannot be resolved (missing). A path rather than a generated id because it
    /// needs no state of its own, survives config edits (adding a queue keeps the old records), and an
    /// operator can filter on it with `jq 'select(.pipeline == "/srv/uploads/whitehall")'`. Two
    /// layouts that share a state directory must differ in root (or in queue names).
    public var pipelineIdentity: String {
        guard let resolved = realpath(root, nil) else { return root }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
