import Foundation

/// One processed file, as `drain` and `rescan-clean` record it in the scan journal.
///
/// The journal is JSON Lines (one object per line) so operators can read it with `jq` and
/// logrotate can rotate it (`copytruncate` or `create`; readers tolerate a rotated, empty file).
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

    public init(time: Double, queue: String, path: String, size: Int64, placed: Double, scanned: Double,
                verdict: String, signature: String? = nil, duration: Double, source: String,
                engine: String? = nil, action: String? = nil) {
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
    }

    /// Waiting time from placed on disk until scanned (never negative).
    public var wait: Double { max(0, scanned - placed) }
}

/// The pipeline's scan journal: appended by the commands that scan, read by the check (`wait`,
/// `infected`, `stuck`) and the exporter.
public struct ScanJournal: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    public init(layout: PipelineLayout) { self.path = layout.journalPath }

    /// Whether the journal file exists (when it does not, readers fall back to the outcome trees).
    public var exists: Bool { access(path, F_OK) == 0 }

    /// Appends records, one JSON line each, in a single write on an O_APPEND descriptor, so
    /// concurrent writers never interleave within a line. Creates the state directory if needed.
    public func append(_ records: [JournalRecord]) throws(Errno) {
        guard !records.isEmpty else { return }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var data: [UInt8] = []
        for record in records {
            guard let line = try? encoder.encode(record) else { continue }
            data.append(contentsOf: line)
            data.append(UInt8(ascii: "\n"))
        }
        try Self.makeDirectories(String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)]))
        let fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        if fd < 0 { throw Errno(errno) }
        defer { close(fd) }
        // A writer killed mid-line leaves a partial last line: start on a fresh line so the
        // records appended now are not glued onto it.
        var info = stat()
        if fstat(fd, &info) == 0 && info.st_size > 0 {
            var last: UInt8 = 0
            if pread(fd, &last, 1, info.st_size - 1) == 1 && last != UInt8(ascii: "\n") {
                data.insert(UInt8(ascii: "\n"), at: 0)
            }
        }
        var offset = 0
        while offset < data.count {
            let written = data[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                throw Errno(errno)
            }
            offset += written
        }
    }

    /// The records whose `scanned` time is at or after `since`, oldest first. Reads the file
    /// backwards from its end and stops after 64 records in a row older than `since` minus a slack
    /// (records are appended in nearly scanned order; parallel writers and a clock step may put a few
    /// out of order), so the cost is proportional to the window, not to the journal's size. Malformed lines are counted
    /// in `skipped`, never fatal. A missing journal reads as empty.
    public func records(since: Double, slack: Double = 300) throws(Errno) -> (records: [JournalRecord], skipped: Int) {
        let fd: Int32
        do { fd = try openRegularFile(path, followSymlinks: false) } catch {
            if error.rawValue == ENOENT { return ([], 0) }
            throw error
        }
        defer { close(fd) }
        var info = stat()
        if fstat(fd, &info) != 0 { throw Errno(errno) }
        var end = Int(info.st_size)
        let chunkSize = 256 * 1024
        var carry: [UInt8] = []  // the start of a line whose beginning is in the previous chunk
        var collected: [JournalRecord] = []
        var skipped = 0
        let decoder = JSONDecoder()
        var done = false
        var oldStreak = 0
        while end > 0 && !done {
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
                guard let record = try? decoder.decode(JournalRecord.self, from: Data(line)) else {
                    skipped += 1
                    continue
                }
                if record.scanned < since - slack {
                    oldStreak += 1
                    if oldStreak >= 64 { done = true; break }
                    continue
                }
                oldStreak = 0
                if record.scanned >= since { collected.append(record) }
            }
            end = start
        }
        if !done && !carry.isEmpty {
            if let record = try? decoder.decode(JournalRecord.self, from: Data(carry)) {
                if record.scanned >= since { collected.append(record) }
            } else {
                skipped += 1
            }
        }
        collected.sort { $0.scanned != $1.scanned ? $0.scanned < $1.scanned : $0.path < $1.path }
        return (collected, skipped)
    }

    static func makeDirectories(_ path: String) throws(Errno) {
        guard !path.isEmpty else { return }
        var partial = ""
        for component in path.split(separator: "/") {
            partial += "/" + component
            if mkdir(partial, 0o755) != 0 && errno != EEXIST { throw Errno(errno) }
        }
    }
}
