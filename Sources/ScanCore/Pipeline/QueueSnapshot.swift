/// How a snapshot is taken.
public struct SnapshotOptions: Sendable {
    /// Where "placed on disk" comes from.
    public var ageSource: AgeSource
    /// How many of the oldest waiting files to list.
    public var topN: Int
    /// Ages (seconds) for which the snapshot counts the files older than it.
    public var olderThan: [Double]
    /// Walker threads.
    public var threads: Int
    /// How many anomaly and unreadable-directory paths to keep as samples.
    public var sampleLimit: Int

    public init(ageSource: AgeSource = .mtime, topN: Int = 10, olderThan: [Double] = [1200], threads: Int = 2, sampleLimit: Int = 10) {
        self.ageSource = ageSource
        self.topN = max(0, topN)
        self.olderThan = olderThan
        self.threads = max(1, threads)
        self.sampleLimit = max(0, sampleLimit)
    }
}

/// Age percentiles of the waiting files (nearest-rank: the smallest age such that at least p% of
/// the files are no older).
public struct AgePercentiles: Sendable, Hashable {
    public var p50: Double
    public var p90: Double
    public var p99: Double
    public var max: Double

    public init(p50: Double, p90: Double, p99: Double, max: Double) {
        self.p50 = p50
        self.p90 = p90
        self.p99 = p99
        self.max = max
    }

    /// Nearest-rank percentile `p` (0 < p ≤ 100) of `sortedAscending`, which must not be empty.
    public static func nearestRank(_ p: Double, of sortedAscending: [Double]) -> Double {
        precondition(!sortedAscending.isEmpty)
        let rank = Int((p / 100 * Double(sortedAscending.count)).rounded(.up))
        return sortedAscending[Swift.min(Swift.max(rank, 1), sortedAscending.count) - 1]
    }

    /// Percentiles of `ages` (any order); nil when empty.
    public init?(ages: [Double]) {
        guard !ages.isEmpty else { return nil }
        let sorted = ages.sorted()
        p50 = Self.nearestRank(50, of: sorted)
        p90 = Self.nearestRank(90, of: sorted)
        p99 = Self.nearestRank(99, of: sorted)
        max = sorted[sorted.count - 1]
    }
}

/// A fixed-bucket histogram of ages, cumulative like a Prometheus histogram (`le` buckets).
public struct AgeHistogram: Sendable, Hashable {
    /// The fixed upper bounds in seconds; a final +Inf bucket is implied.
    public static let standardBounds: [Double] = [60, 300, 600, 1200, 2400, 3600, 21600, 86400]

    public let bounds: [Double]
    /// Per-bucket (not cumulative) counts; one more than `bounds` (the +Inf bucket).
    private(set) var bucketCounts: [Int]
    public private(set) var sum: Double = 0

    public init(bounds: [Double] = AgeHistogram.standardBounds) {
        self.bounds = bounds
        bucketCounts = Array(repeating: 0, count: bounds.count + 1)
    }

    public mutating func record(_ age: Double) {
        var index = 0
        while index < bounds.count && age > bounds[index] { index += 1 }
        bucketCounts[index] += 1
        sum += age
    }

    public mutating func merge(_ other: AgeHistogram) {
        precondition(bounds == other.bounds, "histograms with different bounds")
        for index in bucketCounts.indices { bucketCounts[index] += other.bucketCounts[index] }
        sum += other.sum
    }

    /// Cumulative counts: entry i counts ages ≤ bounds[i]; the last entry (+Inf) equals `count`.
    public var cumulativeCounts: [Int] {
        var running = 0
        return bucketCounts.map { running += $0; return running }
    }

    public var count: Int { bucketCounts.reduce(0, +) }
}

/// One waiting file, as listed among the oldest.
public struct WaitingFile: Sendable, Hashable {
    /// Path relative to the queue directory, as raw bytes.
    public var relativePath: [UInt8]
    /// The relative path, escaped for display.
    public var displayPath: String { PathEscaping.display(relativePath) }
    /// When it was placed on disk (epoch seconds).
    public var placed: Double
    public var age: Double
    public var size: Int64
}

/// Per first-level subdirectory of a queue.
public struct SubdirectoryStats: Sendable, Hashable {
    /// The subdirectory's name as raw bytes; empty for files directly in the queue directory.
    public var name: [UInt8]
    /// The name escaped for display; `.` for files directly in the queue directory.
    public var displayName: String { name.isEmpty ? "." : PathEscaping.display(name) }
    public var files: Int
    public var bytes: Int64
    public var oldestAge: Double?
}

/// Entries that are not regular files: never followed, never counted as backlog.
public struct AnomalyReport: Sendable, Hashable {
    public var count: Int = 0
    public var byKind: [EntryKind: Int] = [:]
    /// A few of them: `(kind, escaped relative path)`.
    public var samples: [Sample] = []

    public struct Sample: Sendable, Hashable {
        public var kind: EntryKind
        public var displayPath: String
    }

    mutating func add(kind: EntryKind, path: @autoclosure () -> [UInt8], limit: Int) {
        count += 1
        byKind[kind, default: 0] += 1
        if samples.count < limit { samples.append(Sample(kind: kind, displayPath: PathEscaping.display(path()))) }
    }

    mutating func merge(_ other: AnomalyReport, limit: Int) {
        count += other.count
        for (kind, n) in other.byKind { byKind[kind, default: 0] += n }
        for sample in other.samples where samples.count < limit { samples.append(sample) }
    }
}

/// A directory the walk could not read: reported, never fatal, never silently skipped.
public struct DirectoryProblem: Sendable, Hashable {
    /// Escaped path relative to the walked tree (`.` for its top).
    public var displayPath: String
    public var errno: Int32
    public var message: String { PipelineError.errnoText(errno) }
}

/// What is waiting in one queue directory at one instant.
public struct QueueSnapshot: Sendable {
    public var queue: String
    public var path: String
    public var ageSource: AgeSource
    /// The injected "now" (epoch seconds) that ages are measured from.
    public var now: Double
    public var files: Int
    public var bytes: Int64
    public var oldestAge: Double?
    public var newestAge: Double?
    public var percentiles: AgePercentiles?
    public var histogram: AgeHistogram
    /// For each requested age, the number of files strictly older than it.
    public var olderThan: [Double: Int]
    /// The oldest files, oldest first (at most `topN`).
    public var oldest: [WaitingFile]
    /// Per first-level subdirectory, most files first.
    public var subdirectories: [SubdirectoryStats]
    public var anomalies: AnomalyReport
    /// Directories that could not be read (at most `sampleLimit` listed; `unreadableCount` counts all).
    public var unreadable: [DirectoryProblem]
    public var unreadableCount: Int
    /// Files whose birth time was asked for but not available (their mtime was used).
    public var birthTimeFallbacks: Int
    /// Wall time the walk took, seconds.
    public var walkDuration: Double

    /// The number of waiting files older than `age` seconds (only for ages listed in the options).
    public func count(olderThan age: Double) -> Int? { olderThan[age] }

    /// Walks `queue`'s incoming directory.
    /// - Throws: `PipelineError` when the directory itself is missing or cannot be opened.
    public static func take(_ queue: QueueDefinition, now: Double, options: SnapshotOptions = SnapshotOptions()) throws(PipelineError) -> QueueSnapshot {
        try take(name: queue.name, path: queue.incoming, now: now, options: options)
    }

    /// Walks the directory at `path` as the queue named `name`.
    public static func take(name: String, path: String, now: Double, options: SnapshotOptions = SnapshotOptions()) throws(PipelineError) -> QueueSnapshot {
        let started = MonotonicClock.now()
        let walker = DirectoryWalker(threads: options.threads, wantBirthTime: options.ageSource == .btime)
        let parts = try walker.walk(root: path) { QueueAccumulator(now: now, options: options) }
        var merged = QueueAccumulator(now: now, options: options)
        for part in parts { merged.merge(part) }
        return merged.snapshot(queue: name, path: path, walkDuration: MonotonicClock.now() - started)
    }
}

/// Per-thread accumulation for a queue snapshot; `merge` is associative and commutative.
struct QueueAccumulator: WalkVisitor {
    let now: Double
    let options: SnapshotOptions
    var files = 0
    var bytes: Int64 = 0
    var ages: [Double] = []  // one Double per waiting file (no paths), for exact percentiles
    var oldestPlaced = Double.infinity
    var newestPlaced = -Double.infinity
    var histogram = AgeHistogram()
    var olderCounts: [Int]
    var oldest: [WaitingFile] = []  // sorted oldest first, at most topN
    var subdirectories: [[UInt8]: SubdirectoryStats] = [:]
    var anomalies = AnomalyReport()
    var unreadable: [DirectoryProblem] = []
    var unreadableCount = 0
    var birthTimeFallbacks = 0
    // Running totals for the directory being read, flushed into `subdirectories` on leave.
    private var current = SubdirectoryStats(name: [], files: 0, bytes: 0, oldestAge: nil)

    init(now: Double, options: SnapshotOptions) {
        self.now = now
        self.options = options
        olderCounts = Array(repeating: 0, count: options.olderThan.count)
    }

    mutating func enterDirectory(_ directory: WalkDirectory, metadata: FileMetadata?) -> FileStatPolicy {
        current = SubdirectoryStats(name: Array(directory.firstComponent), files: 0, bytes: 0, oldestAge: nil)
        return .stat
    }

    mutating func leaveDirectory(_ directory: WalkDirectory) {
        guard current.files > 0 else { return }
        subdirectories[current.name, default: SubdirectoryStats(name: current.name, files: 0, bytes: 0, oldestAge: nil)]
            .absorb(current)
    }

    mutating func regularFile(_ directory: WalkDirectory, name: UnsafeBufferPointer<UInt8>, metadata: FileMetadata?) {
        guard let metadata else { return }
        let (placed, fellBack) = metadata.placed(options.ageSource)
        if fellBack { birthTimeFallbacks += 1 }
        let age = Swift.max(0, now - placed)
        files += 1
        bytes += metadata.size
        ages.append(age)
        oldestPlaced = Swift.min(oldestPlaced, placed)
        newestPlaced = Swift.max(newestPlaced, placed)
        histogram.record(age)
        for index in options.olderThan.indices where age > options.olderThan[index] { olderCounts[index] += 1 }
        current.files += 1
        current.bytes += metadata.size
        current.oldestAge = Swift.max(current.oldestAge ?? age, age)
        if options.topN > 0 && (oldest.count < options.topN || placed <= oldest[oldest.count - 1].placed) {
            insertOldest(WaitingFile(relativePath: directory.child(name), placed: placed, age: age, size: metadata.size))
        }
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

    /// Oldest first; ties broken by path so the listing is the same whatever the walk order.
    static func precedes(_ a: WaitingFile, _ b: WaitingFile) -> Bool {
        if a.placed != b.placed { return a.placed < b.placed }
        return a.relativePath.lexicographicallyPrecedes(b.relativePath)
    }

    private mutating func insertOldest(_ file: WaitingFile) {
        guard options.topN > 0 else { return }
        let index = oldest.firstIndex { Self.precedes(file, $0) } ?? oldest.count
        guard index < options.topN else { return }
        oldest.insert(file, at: index)
        if oldest.count > options.topN { oldest.removeLast() }
    }

    mutating func merge(_ other: QueueAccumulator) {
        files += other.files
        bytes += other.bytes
        ages.append(contentsOf: other.ages)
        oldestPlaced = Swift.min(oldestPlaced, other.oldestPlaced)
        newestPlaced = Swift.max(newestPlaced, other.newestPlaced)
        histogram.merge(other.histogram)
        for index in olderCounts.indices { olderCounts[index] += other.olderCounts[index] }
        for file in other.oldest { insertOldest(file) }
        for (name, stats) in other.subdirectories {
            subdirectories[name, default: SubdirectoryStats(name: name, files: 0, bytes: 0, oldestAge: nil)].absorb(stats)
        }
        anomalies.merge(other.anomalies, limit: options.sampleLimit)
        unreadableCount += other.unreadableCount
        for problem in other.unreadable where unreadable.count < options.sampleLimit { unreadable.append(problem) }
        birthTimeFallbacks += other.birthTimeFallbacks
    }

    func snapshot(queue: String, path: String, walkDuration: Double) -> QueueSnapshot {
        var older: [Double: Int] = [:]
        for (index, age) in options.olderThan.enumerated() { older[age] = olderCounts[index] }
        return QueueSnapshot(
            queue: queue, path: path, ageSource: options.ageSource, now: now,
            files: files, bytes: bytes,
            oldestAge: files > 0 ? Swift.max(0, now - oldestPlaced) : nil,
            newestAge: files > 0 ? Swift.max(0, now - newestPlaced) : nil,
            percentiles: AgePercentiles(ages: ages),
            histogram: histogram, olderThan: older,
            oldest: oldest,
            subdirectories: subdirectories.values.sorted {
                $0.files != $1.files ? $0.files > $1.files : $0.name.lexicographicallyPrecedes($1.name)
            },
            anomalies: anomalies, unreadable: unreadable, unreadableCount: unreadableCount,
            birthTimeFallbacks: birthTimeFallbacks, walkDuration: walkDuration)
    }
}

extension SubdirectoryStats {
    mutating func absorb(_ other: SubdirectoryStats) {
        files += other.files
        bytes += other.bytes
        if let age = other.oldestAge { oldestAge = Swift.max(oldestAge ?? age, age) }
    }
}
