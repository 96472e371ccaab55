import Foundation
import ScanCore
import ScanCoreTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A pipeline (incoming/clean/infected for both queues, a state dir, the small signature database)
/// in a temp dir, for running the real `check_virus_scan rescan-clean` against.
final class RescanFixture {
    let tree: TemporaryTree
    var root: String { tree.root }
    var stateDir: String { root + "/state" }
    var statePath: String { stateDir + "/rescan-state.json" }
    var journalPath: String { stateDir + "/journal.jsonl" }
    var auditPath: String { root + "/audit.jsonl" }
    var lockPath: String { root + "/rescan.lock" }
    var databaseDir: String { root + "/db" }

    init() throws {
        tree = try TemporaryTree(prefix: "rsc")
        for name in ["incoming", "clean", "infected", "draft-incoming", "draft-clean", "draft-infected", "state"] {
            try tree.directory(name)
        }
        try SignatureFixtures.writeSmall(to: databaseDir)
    }

    /// `rescan-clean` with this fixture's paths, libclamav, 2 jobs, no syslog, the audit journal.
    func arguments(_ extra: [String] = [], engine: [String]? = nil) -> [String] {
        ["rescan-clean", "--root", root, "--state-dir", stateDir] + (engine ?? ["--engine", "libclamav", "--database-dir", databaseDir]) + [
         "--lock", lockPath, "--jobs", "2", "--no-syslog", "--audit-journal", auditPath, "--yield-check-interval", "0.1"]
            + extra
    }

    func run(_ extra: [String] = [], limit: Double = 120) throws -> Plugin.Run {
        try Plugin.run(arguments(extra), limit: limit)
    }

    /// Starts `rescan-clean` in the background (output to files under the fixture; posix_spawn via
    /// ChildProcess, never Foundation's Process).
    func start(_ extra: [String] = [], log: String = "run") throws -> ChildProcess {
        try ChildProcess(Plugin.binary, arguments(extra), outputFile: root + "/\(log).out")
    }

    func output(_ log: String = "run") -> String {
        (try? String(contentsOfFile: root + "/\(log).out", encoding: .utf8)) ?? ""
    }

    func state() throws -> RescanProgress {
        try RescanProgress(json: Array(try Data(contentsOf: URL(fileURLWithPath: statePath))))
    }

    func journal(_ path: String? = nil) throws -> [JournalRecord] {
        try ScanJournal(path: path ?? journalPath).records(since: 0, slack: .infinity).records
    }

    /// The audit journal's records in file order (not sorted by time).
    func auditRecords() throws -> [JournalRecord] {
        guard let data = FileManager.default.contents(atPath: auditPath) else { return [] }
        let decoder = JSONDecoder()
        return data.split(separator: UInt8(ascii: "\n")).compactMap { try? decoder.decode(JournalRecord.self, from: Data($0)) }
    }

    /// Writes `count` clean files of varied sizes and names under `tree` (deterministic).
    @discardableResult
    func populate(_ treeName: String, count: Int, seed: UInt64 = 7, minSize: Int = 200, maxSize: Int = 4000) throws -> [String] {
        var rng = SplitMix64(seed: seed)
        let directories = ["2024/01", "2024/02/odd name", "2024/10", "-dash", "a b", "zz/deep/er", "ünïcode"]
        var written: [String] = []
        for index in 0..<count {
            let directory = directories[Int(rng.next() % UInt64(directories.count))]
            let name = index % 11 == 0 ? "file \(index).pdf" : "f\(index)-\(rng.next() % 1000).bin"
            let size = minSize + Int(rng.next() % UInt64(max(1, maxSize - minSize)))
            let contents = (0..<size).map { _ in UInt8(ascii: "a") &+ UInt8(rng.next() % 26) }
            let relative = "\(directory)/\(name)"
            try tree.file("\(treeName)/\(relative)", contents: contents, mtime: 1_700_000_000 + Double(index))
            written.append(relative)
        }
        return written
    }
}

/// Every regular file under `path`: relative path bytes → contents and mtime. Symlinks are listed
/// with their target as contents and mtime -1.
func listTree(_ path: String) -> [[UInt8]: (contents: [UInt8], mtime: Double)] {
    var out: [[UInt8]: (contents: [UInt8], mtime: Double)] = [:]
    func walk(_ relative: [UInt8]) {
        var full = Array(path.utf8)
        if !relative.isEmpty { full.append(UInt8(ascii: "/")); full.append(contentsOf: relative) }
        let cPath = full.map { CChar(bitPattern: $0) } + [0]
        guard let dir = opendir(cPath) else { return }
        var names: [[UInt8]] = []
        while let entry = readdir(dir) {
            let name: [UInt8] = withUnsafeBytes(of: entry.pointee.d_name) { Array($0.prefix { $0 != 0 }) }
            if name == [0x2E] || name == [0x2E, 0x2E] { continue }
            names.append(name)
        }
        closedir(dir)
        for name in names {
            let child = relative.isEmpty ? name : relative + [UInt8(ascii: "/")] + name
            let childC = (full + [UInt8(ascii: "/")] + name).map { CChar(bitPattern: $0) } + [0]
            var info = stat()
            guard lstat(childC, &info) == 0 else { continue }
            switch info.st_mode & S_IFMT {
            case S_IFDIR: walk(child)
            case S_IFLNK:
                var buffer = [CChar](repeating: 0, count: 4096)
                let n = readlink(childC, &buffer, buffer.count)
                out[child] = (buffer.prefix(max(0, n)).map { UInt8(bitPattern: $0) }, -1)
            default:
                let fd = open(childC, O_RDONLY | O_NONBLOCK)
                var contents: [UInt8] = []
                if fd >= 0 {
                    var buffer = [UInt8](repeating: 0, count: 65536)
                    while true {
                        let n = read(fd, &buffer, buffer.count)
                        if n <= 0 { break }
                        contents += buffer[0..<n]
                    }
                    close(fd)
                }
                out[child] = (contents, Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9)
            }
        }
    }
    walk([])
    return out
}

/// Compares two listings exactly (paths, bytes, mtimes): the escaped paths that differ, and how.
func treeDifferences(_ actual: [[UInt8]: (contents: [UInt8], mtime: Double)],
                     _ expected: [[UInt8]: (contents: [UInt8], mtime: Double)]) -> [String] {
    var out: [String] = []
    for key in Set(actual.keys).union(expected.keys).sorted(by: { $0.lexicographicallyPrecedes($1) }) {
        let name = PathEscaping.display(key)
        switch (actual[key], expected[key]) {
        case (nil, _): out.append("missing: \(name)")
        case (_, nil): out.append("unexpected: \(name)")
        case (let a?, let e?):
            if a.contents != e.contents { out.append("contents differ: \(name)") }
            if a.mtime != e.mtime { out.append("mtime differs: \(name) (\(a.mtime) vs \(e.mtime))") }
        }
    }
    return out
}

/// A flock held by the test process.
final class HeldFlock {
    let fd: Int32
    init(_ path: String) {
        fd = open(path, O_RDWR | O_CREAT, 0o644)
        precondition(fd >= 0 && flock(fd, LOCK_EX) == 0)
    }
    deinit { close(fd) }
}

/// Polls `condition` every 20 ms for up to `seconds`.
func waitUntil(_ seconds: Double, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        usleep(20_000)
    }
    return condition()
}
