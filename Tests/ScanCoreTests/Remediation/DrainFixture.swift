import CScanSupport
import Glibc
import ScanCore
import ScanCoreTestSupport
import Testing

/// A queue (incoming → clean/infected) in a temp tree, the small signature database, and an
/// inventory of what the queue held, to prove nothing was lost or mislabelled.
final class DrainFixture: @unchecked Sendable {
    let tree: TemporaryTree
    let queue: QueueDefinition
    let databaseDirectory: String
    let listDirectory: String
    let journalPath: String
    /// Old enough for any --min-age.
    let oldTime = WallClock.now() - 3600

    init(cleanRoot: String? = nil) throws {
        tree = try TemporaryTree(prefix: "drn")
        try tree.directory("incoming")
        try tree.directory("infected")
        let clean = try cleanRoot ?? tree.directory("clean")
        queue = QueueDefinition(name: "incoming", incoming: tree.path("incoming"), clean: clean,
                                infected: tree.path("infected"), lock: tree.path("run/incoming.lock"))
        databaseDirectory = tree.path("db")
        try SignatureFixtures.writeSmall(to: databaseDirectory)
        listDirectory = tree.path("lists/attachments")
        journalPath = tree.path("state/journal.jsonl")
    }

    /// A clean file with unique random content.
    @discardableResult
    func cleanFile(_ relative: [UInt8], size: Int = 3000, seed: UInt64 = 1, mtime: Double? = nil) throws -> [UInt8] {
        var random = SplitMix64(seed: seed &+ UInt64(relative.count) &* 7919 &+ relative.reduce(UInt64(0)) { $0 &* 31 &+ UInt64($1) })
        let bytes = (0..<size).map { _ in UInt8(truncatingIfNeeded: random.next() % 200 + 32) }
        try tree.file(incoming(relative), contents: bytes, mtime: mtime ?? oldTime)
        return bytes
    }

    /// EICAR followed by a unique tail: detected by the body signature only, as
    /// `Eicar-Test-Signature.UNOFFICIAL`.
    @discardableResult
    func infectedFile(_ relative: [UInt8], mtime: Double? = nil) throws -> [UInt8] {
        let bytes = EICAR.bytes + Array("\n\(PathEscaping.display(relative))\n".utf8)
        try tree.file(incoming(relative), contents: bytes, mtime: mtime ?? oldTime)
        return bytes
    }

    func incoming(_ relative: [UInt8]) -> [UInt8] { Array("incoming/".utf8) + relative }

    func configuration(minimumAge: Double = 10, maximumSize: Int64 = 100 << 20, jobs: Int = 2, dryRun: Bool = false,
                       lock: Bool = true, mover: SafeMover.Options = SafeMover.Options()) -> QueueDrain.Configuration {
        QueueDrain.Configuration(queue: queue, minimumAge: minimumAge, maximumSize: maximumSize, jobs: jobs, dryRun: dryRun,
                                 lockPath: lock ? queue.lock : nil, listDirectory: listDirectory, journalPath: journalPath,
                                 mover: mover)
    }

    func engine() throws -> LibClamAVScanner { try LibClamAVScanner(databaseDirectory: databaseDirectory) }

    /// The regular files under each tree, relative path → SHA-256.
    func snapshot() -> [String: [[UInt8]: String]] {
        ["incoming": Inventory.files(queue.incoming), "clean": Inventory.files(queue.clean), "infected": Inventory.files(queue.infected)]
    }

    /// The list files' lines, sorted.
    func listedPaths() -> [[UInt8]] {
        var lines: [[UInt8]] = []
        for (name, _) in Inventory.files(listDirectory) {
            guard let bytes = try? FileOutput.read(listDirectory + "/" + String(decoding: name, as: UTF8.self)) else { continue }
            lines += bytes.split(separator: UInt8(ascii: "\n")).map(Array.init)
        }
        return lines.sorted { $0.lexicographicallyPrecedes($1) }
    }

    func journal() throws -> [JournalRecord] { try ScanJournal(path: journalPath).records(since: 0).records }
}

/// Walks a tree without following symlinks and hashes its regular files; also lists other entries.
enum Inventory {
    static func files(_ root: String) -> [[UInt8]: String] {
        var result: [[UInt8]: String] = [:]
        walk(root, []) { path, fd in
            result[path] = hash(fd)
        } other: { _, _ in }
        return result
    }

    static func others(_ root: String) -> [[UInt8]: UInt32] {
        var result: [[UInt8]: UInt32] = [:]
        walk(root, []) { _, _ in } other: { path, mode in result[path] = mode & UInt32(S_IFMT) }
        return result
    }

    private static func walk(_ root: String, _ prefix: [UInt8], file: ([UInt8], Int32) -> Void, other: ([UInt8], UInt32) -> Void) {
        let fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd < 0 { return }
        walkFD(fd, prefix, file: file, other: other)
    }

    private static func walkFD(_ fd: Int32, _ prefix: [UInt8], file: ([UInt8], Int32) -> Void, other: ([UInt8], UInt32) -> Void) {
        guard let dir = fdopendir(fd) else { close(fd); return }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            let name: [UInt8] = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                Array(raw.prefix { $0 != 0 })
            }
            if name == [0x2E] || name == [0x2E, 0x2E] { continue }
            let path = prefix.isEmpty ? name : prefix + [UInt8(ascii: "/")] + name
            var info = stat()
            let cname = name.map { CChar(bitPattern: $0) } + [0]
            guard fstatat(dirfd(dir), cname, &info, AT_SYMLINK_NOFOLLOW) == 0 else { continue }
            switch info.st_mode & S_IFMT {
            case S_IFDIR:
                let child = openat(dirfd(dir), cname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                if child >= 0 { walkFD(child, path, file: file, other: other) }
            case S_IFREG:
                let child = openat(dirfd(dir), cname, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
                if child >= 0 { file(path, child); close(child) }
            default:
                other(path, UInt32(info.st_mode))
            }
        }
    }

    static func hash(_ fd: Int32) -> String {
        var hasher = SHA256()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            hasher.update(Array(buffer[0..<n]))
        }
        return Checksums.hex(hasher.finalize())
    }

    static func hash(_ bytes: [UInt8]) -> String { SHA256.hex(bytes) }
}

/// The invariant: every file that was queued is in exactly one of queue/clean/infected, at the
/// same relative path, with identical bytes; clean holds no infected content and infected no clean.
func expectNothingLost(before: [[UInt8]: String], infectedPaths: Set<[UInt8]>, after: [String: [[UInt8]: String]],
                       sourceLocation: SourceLocation = #_sourceLocation) {
    for (path, digest) in before {
        let places = ["incoming", "clean", "infected"].filter { after[$0]?[path] == digest }
        #expect(places.count == 1, "\(PathEscaping.display(path)) is in \(places)", sourceLocation: sourceLocation)
        if infectedPaths.contains(path) {
            #expect(!places.contains("clean"), "infected \(PathEscaping.display(path)) in clean", sourceLocation: sourceLocation)
        } else {
            #expect(!places.contains("infected"), "clean \(PathEscaping.display(path)) in infected", sourceLocation: sourceLocation)
        }
    }
}

/// A real scanner with a hook that runs after the scan, before the drain checks and moves the
/// file: lets a test change the file at exactly that instant.
struct RacingScanner: FileScanner {
    let inner: any FileScanner
    let afterScan: @Sendable (String) -> Void
    var engineName: String { inner.engineName }
    var summary: String { inner.summary }
    func scan(fileDescriptor: Int32, name: String) -> ScanVerdict {
        let verdict = inner.scan(fileDescriptor: fileDescriptor, name: name)
        afterScan(name)
        return verdict
    }
}
