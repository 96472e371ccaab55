/// A file that arrived in an outcome tree (clean or infected) within the window.
public struct ProcessedFile: Sendable, Hashable {
    /// Path relative to the outcome tree, as raw bytes.
    public var relativePath: [UInt8]
    public var displayPath: String { PathEscaping.display(relativePath) }
    public var size: Int64
    /// When it was placed on disk (mtime, or btime when asked), epoch seconds.
    public var placed: Double
    /// When it arrived in the outcome tree: its ctime, which the scanner's rename stamps.
    public var arrived: Double
    /// Waiting time from placed on disk until scanned: `arrived − placed` (never negative).
    public var wait: Double { Swift.max(0, arrived - placed) }
    /// The file's identity, which a rename keeps: how a journal record finds it (``ProcessingHistory``).
    public var device: UInt64 = 0
    public var inode: UInt64 = 0
}

/// What an outcome tree holds: how many files, and which arrived within a window.
///
/// A rename stamps a file's ctime and keeps its mtime and birth time, so arrival = ctime and
/// placed = mtime (or btime): this measures processing even when another program did the
/// scanning. The cost is bounded for trees of millions of files: every directory is read (file
/// counts come from the entries' types, with no stat), but a file is stat'ed only when its
/// directory's mtime or ctime falls within the window — a rename into a directory always updates
/// that directory's mtime, so no arrival is missed.
public struct OutcomeSnapshot: Sendable {
    public var queue: String
    public var outcome: Outcome
    public var path: String
    public var ageSource: AgeSource
    public var now: Double
    /// Start of the window: arrivals at or after it count.
    public var since: Double
    /// Every regular file in the tree.
    public var files: Int
    /// Files that arrived within the window, earliest arrival first.
    public var arrivals: [ProcessedFile]
    public var anomalies: AnomalyReport
    public var unreadable: [DirectoryProblem]
    public var unreadableCount: Int
    /// The cost: directories read, of which how many had changed within the window, and files stat'ed.
    public var directoriesRead: Int
    public var directoriesChanged: Int
    public var filesStatted: Int
    public var walkDuration: Double

    /// Walks `queue`'s tree for `outcome`, counting arrivals since `now − window`.
    /// - Throws: `PipelineError` when the tree's directory itself is missing or cannot be opened.
    public static func take(queue: QueueDefinition, outcome: Outcome, now: Double, window: Double,
                            options: SnapshotOptions = SnapshotOptions()) throws(PipelineError) -> OutcomeSnapshot {
        try take(queue: queue.name, outcome: outcome, path: queue.path(for: outcome), now: now, window: window, options: options)
    }

    public static func take(queue: String, outcome: Outcome, path: String, now: Double, window: Double,
                            options: SnapshotOptions = SnapshotOptions()) throws(PipelineError) -> OutcomeSnapshot {
        let started = MonotonicClock.now()
        let since = now - window
        let walker = DirectoryWalker(threads: options.threads, wantBirthTime: options.ageSource == .btime)
        let parts = try walker.walk(root: path) { OutcomeAccumulator(since: since, now: now, options: options) }
        var merged = OutcomeAccumulator(since: since, now: now, options: options)
        for part in parts { merged.merge(part) }
        merged.arrivals.sort {
            $0.arrived != $1.arrived ? $0.arrived < $1.arrived : $0.relativePath.lexicographicallyPrecedes($1.relativePath)
        }
        return OutcomeSnapshot(
            queue: queue, outcome: outcome, path: path, ageSource: options.ageSource, now: now, since: since,
            files: merged.files, arrivals: merged.arrivals, anomalies: merged.anomalies,
            unreadable: merged.unreadable, unreadableCount: merged.unreadableCount,
            directoriesRead: merged.directoriesRead, directoriesChanged: merged.directoriesChanged,
            filesStatted: merged.filesStatted, walkDuration: MonotonicClock.now() - started)
    }
}

struct OutcomeAccumulator: WalkVisitor {
    let since: Double
    let now: Double
    let options: SnapshotOptions
    var files = 0
    var arrivals: [ProcessedFile] = []
    var anomalies = AnomalyReport()
    var unreadable: [DirectoryProblem] = []
    var unreadableCount = 0
    var directoriesRead = 0
    var directoriesChanged = 0
    var filesStatted = 0

    init(since: Double, now: Double, options: SnapshotOptions) {
        self.since = since
        self.now = now
        self.options = options
    }

    mutating func enterDirectory(_ directory: WalkDirectory, metadata: FileMetadata?) -> FileStatPolicy {
        directoriesRead += 1
        // Unknown metadata: be safe and look at every file.
        guard let metadata else { directoriesChanged += 1; return .stat }
        if Swift.max(metadata.modified, metadata.changed) >= since {
            directoriesChanged += 1
            return .stat
        }
        return .countOnly
    }

    mutating func leaveDirectory(_ directory: WalkDirectory) {}

    mutating func regularFile(_ directory: WalkDirectory, name: UnsafeBufferPointer<UInt8>, metadata: FileMetadata?) {
        files += 1
        guard let metadata else { return }
        filesStatted += 1
        guard metadata.changed >= since else { return }
        let placed = metadata.placed(options.ageSource).time
        arrivals.append(ProcessedFile(relativePath: directory.child(name), size: metadata.size, placed: placed, arrived: metadata.changed,
                                     device: metadata.device, inode: metadata.inode))
    }

    mutating func anomaly(_ directory: WalkDirectory, name: UnsafeBufferPointer<UInt8>, kind: EntryKind) {
        anomalies.add(kind: kind, path: directory.child(name), limit: options.sampleLimit)
    }

    mutating func unreadable(path: [UInt8], errno: Int32) {
        unreadableCount += 1
        if unreadable.count < options.sampleLimit {
            unreadable.append(DirectoryProblem(displayPath: path.isEmpty ? "." : PathEscaping.display(path), errno: errno))
        }
    }

    mutating func merge(_ other: OutcomeAccumulator) {
        files += other.files
        arrivals.append(contentsOf: other.arrivals)
        anomalies.merge(other.anomalies, limit: options.sampleLimit)
        unreadableCount += other.unreadableCount
        for problem in other.unreadable where unreadable.count < options.sampleLimit { unreadable.append(problem) }
        directoriesRead += other.directoriesRead
        directoriesChanged += other.directoriesChanged
        filesStatted += other.filesStatted
    }
}
