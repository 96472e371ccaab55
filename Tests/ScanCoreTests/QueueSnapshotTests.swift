import Glibc
@testable import ScanCore
import ScanCoreTestSupport
import Testing

@Suite("Queue snapshot")
struct QueueSnapshotTests {
    let now: Double = 1_800_000_000

    /// Five files of known ages (30 s … 25 h) in three first-level subdirectories.
    func agedQueue() throws -> TemporaryTree {
        let tree = try TemporaryTree()
        try tree.directory("q")
        try tree.file("q/attachment_data/file/1/report final.pdf", size: 100, mtime: now - 30)
        try tree.file("q/attachment_data/file/2/b.pdf", size: 200, mtime: now - 100)
        try tree.file("q/attachment_data/file/3/c.csv", size: 300, mtime: now - 700)
        try tree.file("q/system/uploads/d.odt", size: 400, mtime: now - 5000)
        try tree.file("q/top.txt", size: 500, mtime: now - 90000)
        return tree
    }

    @Test("counts, bytes, ages, percentiles and histogram are exact", arguments: [1, 2, 4])
    func exactStatistics(threads: Int) throws {
        let tree = try agedQueue()
        let snapshot = try QueueSnapshot.take(
            name: "incoming", path: tree.path("q"), now: now,
            options: SnapshotOptions(topN: 3, olderThan: [60, 1200, 86400], threads: threads))
        #expect(snapshot.files == 5)
        #expect(snapshot.bytes == 1500)
        #expect(snapshot.oldestAge == 90000)
        #expect(snapshot.newestAge == 30)
        #expect(snapshot.ageSource == .mtime)
        #expect(snapshot.percentiles == AgePercentiles(p50: 700, p90: 90000, p99: 90000, max: 90000))
        #expect(snapshot.histogram.bounds == [60, 300, 600, 1200, 2400, 3600, 21600, 86400])
        #expect(snapshot.histogram.cumulativeCounts == [1, 2, 2, 3, 3, 3, 4, 4, 5])
        #expect(snapshot.histogram.sum == 30 + 100 + 700 + 5000 + 90000)
        #expect(snapshot.olderThan == [60: 4, 1200: 2, 86400: 1])
        #expect(snapshot.oldest.map(\.displayPath) == ["top.txt", "system/uploads/d.odt", "attachment_data/file/3/c.csv"])
        #expect(snapshot.oldest.map(\.age) == [90000, 5000, 700])
        #expect(snapshot.oldest.map(\.size) == [500, 400, 300])
        #expect(snapshot.subdirectories.map(\.displayName) == ["attachment_data", ".", "system"])
        #expect(snapshot.subdirectories.map(\.files) == [3, 1, 1])
        #expect(snapshot.subdirectories.map(\.bytes) == [600, 500, 400])
        #expect(snapshot.subdirectories.map(\.oldestAge) == [700, 90000, 5000])
        #expect(snapshot.anomalies.count == 0)
        #expect(snapshot.unreadableCount == 0)
    }

    @Test("an empty queue has zero files and no ages")
    func emptyQueue() throws {
        let tree = try TemporaryTree()
        try tree.directory("q/sub/dir")
        let snapshot = try QueueSnapshot.take(name: "incoming", path: tree.path("q"), now: now)
        #expect(snapshot.files == 0)
        #expect(snapshot.bytes == 0)
        #expect(snapshot.oldestAge == nil)
        #expect(snapshot.percentiles == nil)
        #expect(snapshot.histogram.cumulativeCounts == Array(repeating: 0, count: 9))
        #expect(snapshot.oldest.isEmpty)
        #expect(snapshot.subdirectories.isEmpty)
    }

    @Test("bucket edges are inclusive upper bounds, like Prometheus le")
    func histogramEdges() throws {
        var histogram = AgeHistogram()
        for age in [0.0, 60, 60.5, 86400, 86400.001] { histogram.record(age) }
        #expect(histogram.cumulativeCounts == [2, 3, 3, 3, 3, 3, 3, 4, 5])
        #expect(histogram.count == 5)
    }

    @Test("nearest-rank percentiles")
    func percentiles() {
        let ages = (1...100).map(Double.init)
        #expect(AgePercentiles(ages: ages.shuffled()) == AgePercentiles(p50: 50, p90: 90, p99: 99, max: 100))
        #expect(AgePercentiles(ages: [7]) == AgePercentiles(p50: 7, p90: 7, p99: 7, max: 7))
        #expect(AgePercentiles(ages: []) == nil)
    }

    @Test("a future mtime (clock skew) counts as age 0, not negative")
    func futureMtime() throws {
        let tree = try TemporaryTree()
        try tree.file("q/skewed", size: 1, mtime: now + 500)
        let snapshot = try QueueSnapshot.take(name: "incoming", path: tree.path("q"), now: now)
        #expect(snapshot.files == 1)
        #expect(snapshot.oldestAge == 0)
    }

    @Test("symlinks, FIFOs and sockets are anomalies, never followed or counted; dot files count")
    func anomalies() throws {
        let tree = try TemporaryTree()
        try tree.file("q/.hidden", size: 7, mtime: now - 10)
        try tree.file("q/real/file", size: 3, mtime: now - 10)
        try tree.file("outside/secret1", size: 1000, mtime: now - 10)
        try tree.file("outside/secret2", size: 1000, mtime: now - 10)
        try tree.symlink("q/link-to-dir", to: tree.path("outside"))
        try tree.symlink("q/real/link-to-file", to: tree.path("outside/secret1"))
        try tree.symlink("q/dangling", to: "/nonexistent/target")
        try tree.fifo("q/real/pipe")
        try tree.socket("q/sock")
        let device = tree.characterDevice("q/null")
        let snapshot = try QueueSnapshot.take(name: "incoming", path: tree.path("q"), now: now, options: SnapshotOptions(sampleLimit: 20))
        #expect(snapshot.files == 2)
        #expect(snapshot.bytes == 10)
        #expect(snapshot.anomalies.count == (device ? 6 : 5))
        #expect(snapshot.anomalies.byKind[.symlink] == 3)
        #expect(snapshot.anomalies.byKind[.fifo] == 1)
        #expect(snapshot.anomalies.byKind[.socket] == 1)
        #expect(snapshot.anomalies.byKind[.characterDevice] == (device ? 1 : nil))
        #expect(Set(snapshot.anomalies.samples.map(\.displayPath)).isSuperset(of: [
            "link-to-dir", "real/link-to-file", "dangling", "real/pipe", "sock",
        ]))
    }

    @Test("hostile names are counted exactly and shown escaped")
    func hostileNames() throws {
        let tree = try TemporaryTree()
        let names: [[UInt8]] = [
            Array("q/with space.pdf".utf8),
            Array("q/new\nline.pdf".utf8),
            Array("q/latin1-".utf8) + [0xE9, 0xFF] + Array(".pdf".utf8),
            Array("q/-rf".utf8),
            Array("q/--help".utf8),
            Array("q/back\\slash".utf8),
            Array("q/ünïcödé.pdf".utf8),
        ]
        for (index, name) in names.enumerated() { try tree.file(name, size: 1, mtime: now - Double(1000 + index)) }
        let snapshot = try QueueSnapshot.take(name: "incoming", path: tree.path("q"), now: now, options: SnapshotOptions(topN: 10))
        #expect(snapshot.files == 7)
        #expect(snapshot.oldest.map(\.displayPath) == [
            "ünïcödé.pdf", "back\\\\slash", "--help", "-rf", "latin1-\\xe9\\xff.pdf", "new\\nline.pdf", "with space.pdf",
        ])
        #expect(snapshot.oldest.map { Array("q/".utf8) + $0.relativePath } == names.reversed())
    }

    @Test("100,000 files in one directory are all counted")
    func hugeDirectory() throws {
        let tree = try TemporaryTree()
        let dir = try tree.directory("q/big")
        let fd = open(dir, O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        for index in 0..<100_000 {
            let file = openat(fd, "f\(index)", O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
            #expect(file >= 0)
            if index % 1000 == 0 { _ = write(file, "xx", 2) }
            close(file)
        }
        let snapshot = try QueueSnapshot.take(name: "incoming", path: tree.path("q"), now: WallClock.now() + 60)
        #expect(snapshot.files == 100_000)
        #expect(snapshot.bytes == 200)
        #expect(snapshot.subdirectories.map(\.files) == [100_000])
    }

    @Test("a missing queue is queueMissing; a file is notADirectory")
    func missingQueue() throws {
        let tree = try TemporaryTree()
        try tree.file("plain", size: 1)
        let missing = #expect(throws: PipelineError.self) {
            try QueueSnapshot.take(name: "incoming", path: tree.path("nope"), now: now)
        }
        #expect(missing?.code == .queueMissing)
        #expect(missing?.message == "queue directory \(tree.path("nope")) does not exist")
        let notDir = #expect(throws: PipelineError.self) {
            try QueueSnapshot.take(name: "incoming", path: tree.path("plain"), now: now)
        }
        #expect(notDir?.code == .notADirectory)
        #expect(notDir?.errno == ENOTDIR)
    }

    @Test("unreadable queue and subdirectories are reported with their errno")
    func unreadable() throws {
        let tree = try TemporaryTree()
        chmod(tree.root, 0o755)  // mkdtemp makes it 0700: let the unprivileged walker in
        try tree.file("q/ok/a", size: 1, mtime: now - 100)
        try tree.file("q/locked/b", size: 1, mtime: now - 100)
        try tree.file("q/locked/c", size: 1, mtime: now - 100)
        chmod(tree.path("q/locked"), 0o700)
        try tree.file("closed/x", size: 1)
        chmod(tree.path("closed"), 0o700)
        let path = tree.path("q")
        let closed = tree.path("closed")
        let result = ResultBox<(QueueSnapshot?, PipelineError?)>()
        withFilesystemUID {
            let snapshot = try? QueueSnapshot.take(name: "incoming", path: path, now: 1_800_000_000, options: SnapshotOptions(threads: 1))
            var rootError: PipelineError? = nil
            do { _ = try QueueSnapshot.take(name: "incoming", path: closed, now: 1_800_000_000, options: SnapshotOptions(threads: 1)) }
            catch { rootError = error as? PipelineError }
            result.value = (snapshot, rootError)
        }
        let snapshot = try #require(result.value?.0)
        #expect(snapshot.files == 1)
        #expect(snapshot.unreadableCount == 1)
        #expect(snapshot.unreadable == [DirectoryProblem(displayPath: "locked", errno: EACCES)])
        #expect(snapshot.unreadable.first?.message == "Permission denied")
        let rootError = try #require(result.value?.1)
        #expect(rootError.code == .queueUnreadable)
        #expect(rootError.errno == EACCES)
        #expect(rootError.message == "cannot open queue directory \(closed): Permission denied (errno 13)")
    }

    @Test("files and directories removed during the walk are skipped without error")
    func vanishingEntries() throws {
        let tree = try TemporaryTree()
        for index in 0..<5 { try tree.file("q/a/f\(index)", size: 1, mtime: now - 10) }
        for index in 0..<3 { try tree.file("q/b/f\(index)", size: 1, mtime: now - 10) }
        for index in 0..<4 { try tree.file("q/c/g\(index)", size: 1, mtime: now - 10) }
        let root = tree.path("q")
        // The first file seen in a directory removes its siblings (between getdents and statx),
        // and the first directory entered after the top removes the other two directories.
        struct Vanishing: WalkVisitor {
            var inner: QueueAccumulator
            let root: String
            var removedDirectories = false
            var removedSiblings: Set<[UInt8]> = []
            mutating func enterDirectory(_ directory: WalkDirectory, metadata: FileMetadata?) -> FileStatPolicy {
                if !directory.relativePath.isEmpty && !removedDirectories {
                    removedDirectories = true
                    for other in ["a", "b", "c"] where Array(other.utf8) != directory.relativePath {
                        TemporaryTree.remove(root + "/" + other)
                    }
                }
                return inner.enterDirectory(directory, metadata: metadata)
            }
            mutating func leaveDirectory(_ directory: WalkDirectory) { inner.leaveDirectory(directory) }
            mutating func regularFile(_ directory: WalkDirectory, name: UnsafeBufferPointer<UInt8>, metadata: FileMetadata?) {
                inner.regularFile(directory, name: name, metadata: metadata)
                if removedSiblings.insert(directory.relativePath).inserted {
                    let me = directory.child(name)
                    for index in 0..<5 {
                        for prefix in ["f", "g"] {
                            let sibling = directory.relativePath + Array("/\(prefix)\(index)".utf8)
                            if sibling != me { unlink(root + "/" + String(decoding: sibling, as: UTF8.self)) }
                        }
                    }
                }
            }
            mutating func anomaly(_ directory: WalkDirectory, name: UnsafeBufferPointer<UInt8>, kind: EntryKind) {
                inner.anomaly(directory, name: name, kind: kind)
            }
            mutating func unreadable(path: [UInt8], errno: Int32) { inner.unreadable(path: path, errno: errno) }
        }
        let visitors = try DirectoryWalker(threads: 1).walk(root: root) {
            Vanishing(inner: QueueAccumulator(now: now, options: SnapshotOptions()), root: root)
        }
        let result = try #require(visitors.first)
        #expect(result.inner.files == 1)
        #expect(result.inner.unreadableCount == 0)
        #expect(result.inner.anomalies.count == 0)
    }

    @Test("btime is used where the filesystem has it, mtime otherwise, and the snapshot says which")
    func birthTime() throws {
        let tree = try TemporaryTree()
        let real = WallClock.now()
        try tree.file("q/copied-with-old-mtime", size: 1, mtime: real - 86400 * 30)
        let byMtime = try QueueSnapshot.take(name: "incoming", path: tree.path("q"), now: real)
        let byBtime = try QueueSnapshot.take(name: "incoming", path: tree.path("q"), now: real, options: SnapshotOptions(ageSource: .btime))
        #expect(byMtime.ageSource == .mtime)
        #expect(byBtime.ageSource == .btime)
        #expect(try #require(byMtime.oldestAge) > 86400 * 29)
        let metadata = try FileMetadata.read(path: tree.path("q/copied-with-old-mtime")).get()
        if let born = metadata.born {
            #expect(byBtime.birthTimeFallbacks == 0)
            #expect(byBtime.oldestAge == max(0, real - born))
            #expect(try #require(byBtime.oldestAge) < 600)
        } else {
            #expect(byBtime.birthTimeFallbacks == 1)
            #expect(byBtime.oldestAge == byMtime.oldestAge)
        }
    }
}
