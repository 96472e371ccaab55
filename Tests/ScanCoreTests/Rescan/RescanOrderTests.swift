import Foundation
@testable import ScanCore
import ScanCoreTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The pieces resumability rests on: byte order, the escaped checkpoint text, the watermark.
@Suite("Rescan order and checkpoint")
struct RescanOrderTests {
    @Test func unescapeInvertsDisplay() {
        let names: [[UInt8]] = [
            Array("plain/name.pdf".utf8), Array("back\\slash".utf8), Array("new\nline\ttab\rcr".utf8),
            [0x61, 0xFF, 0xFE, 0x2F, 0x62], Array("ünïcode ✓".utf8), [0x01, 0x7F, 0x1B], Array("\\x41".utf8), [],
        ]
        for name in names {
            #expect(RescanPath.unescape(PathEscaping.display(name)) == name, "\(PathEscaping.display(name))")
        }
        #expect(RescanPath.unescape("bad\\q") == nil)
        #expect(RescanPath.unescape("bad\\x4") == nil)
        #expect(RescanPath.unescape("trailing\\") == nil)
    }

    func makeTree() throws -> TemporaryTree {
        let tree = try TemporaryTree(prefix: "rso")
        for path in ["a", "a-b", "a/x", "a/y/z", "a b", "b", "A", "a.c/d", "zz"] {
            try tree.file(path == "a" ? "a/0" : path, size: 1)
        }
        _ = try tree.file([0x61, 0xFF, 0x2F, 0x71], size: 1)  // "a\xff/q"
        try tree.symlink("link", to: "/etc/passwd")
        try tree.fifo("pipe")
        return tree
    }

    func walk(_ root: String, after checkpoint: [UInt8]? = nil) throws -> [(String, EntryKind)] {
        var walk = try SortedTreeWalk(root: root, after: checkpoint)
        var out: [(String, EntryKind)] = []
        while let entry = walk.next() { out.append((PathEscaping.display(entry.relativePath), entry.kind)) }
        #expect(walk.problems.isEmpty)
        return out
    }

    @Test func walkIsInByteOrderOfWholePaths() throws {
        let tree = try makeTree()
        let entries = try walk(tree.root)
        let expected = ["A", "a b", "a-b", "a.c/d", "a/0", "a/x", "a/y/z", "a\\xff/q", "b", "link", "pipe", "zz"]
        #expect(entries.map(\.0) == expected)
        #expect(entries.first { $0.0 == "link" }?.1 == .symlink)
        #expect(entries.first { $0.0 == "pipe" }?.1 == .fifo)
        // The same order as sorting the raw paths.
        var walker = try SortedTreeWalk(root: tree.root, after: nil)
        var raw: [[UInt8]] = []
        while let entry = walker.next() { raw.append(entry.relativePath) }
        #expect(raw == raw.sorted(by: RescanPath.precedes))
    }

    @Test(arguments: [
        ("a-b", ["a.c/d", "a/0", "a/x", "a/y/z", "a\\xff/q", "b", "link", "pipe", "zz"]),
        ("a/x", ["a/y/z", "a\\xff/q", "b", "link", "pipe", "zz"]),
        ("a/y/z", ["a\\xff/q", "b", "link", "pipe", "zz"]),
        ("a/", ["a/0", "a/x", "a/y/z", "a\\xff/q", "b", "link", "pipe", "zz"]),
        ("a/zzz", ["a\\xff/q", "b", "link", "pipe", "zz"]),
        ("zz", []),
        ("", ["A", "a b", "a-b", "a.c/d", "a/0", "a/x", "a/y/z", "a\\xff/q", "b", "link", "pipe", "zz"]),
    ])
    func resumeReturnsExactlyThePathsAfterTheCheckpoint(_ checkpoint: String, _ expected: [String]) throws {
        let tree = try makeTree()
        #expect(try walk(tree.root, after: RescanPath.unescape(checkpoint)).map(\.0) == expected)
    }

    @Test func checkpointAdvancesOnlyOverAPrefixOfFinishedFiles() throws {
        let tree = try TemporaryTree(prefix: "rsw")
        let store = RescanStateStore(path: tree.path("state.json"))
        var progress = RescanProgress()
        progress.trees = [.init(queue: "incoming", path: "/clean")]
        let tracker = ProgressTracker(progress: progress, store: store, durableInterval: 5)
        _ = tracker.beginTree(0)
        func saved() throws -> RescanProgress.TreeProgress {
            guard case .progress(let p) = try store.load() else { throw FixtureError("no state") }
            return p.trees[0]
        }
        tracker.complete(1, result: FileResult(path: Array("b".utf8), kind: .clean, size: 10))
        tracker.complete(2, result: FileResult(path: Array("c d".utf8), kind: .infected(moved: true), size: 20))
        #expect(try saved().checkpoint == nil)
        #expect(try saved().doneBeyond == ["b", "c d"])
        tracker.complete(0, result: FileResult(path: Array("a".utf8), kind: .error, size: 5))
        #expect(try saved().checkpoint == "c d")
        #expect(try saved().doneBeyond == [])
        tracker.complete(4, result: FileResult(path: [0x65, 0xFF], kind: .skipped(.symlink)))
        #expect(try saved().checkpoint == "c d")
        #expect(try saved().doneBeyond == ["e\\xff"])
        guard case .progress(let p) = try store.load() else { throw FixtureError("no state") }
        #expect(p.filesDone == 3)
        #expect(p.bytesDone == 35)
        #expect(p.detections == 1)
        #expect(p.errors == 1)
        #expect(p.skipped == 1)
        let final = try tracker.finish(completed: true)
        #expect(final.completed)
        #expect(final.lastCompletedAt != nil)
    }

    @Test func stateFileIsReadByTheCheckModesType() throws {
        var progress = RescanProgress()
        progress.started = 1_795_600_000.5
        progress.databaseVersion = 27400
        progress.mainVersion = 62
        progress.filesDone = 120
        progress.filesTotal = 500
        progress.bytesDone = 9000
        progress.bytesTotal = 41000
        progress.errors = 2
        progress.detections = 1
        progress.lastCompletedAt = 1_795_400_000
        progress.trees = [.init(queue: "incoming", path: "/mnt/uploads/whitehall/clean", checkpoint: "2024/05/a b.pdf", doneBeyond: ["2024/05/c"])]
        let state = try RescanState(json: progress.json())
        #expect(state == RescanState(started: 1_795_600_000.5, databaseVersion: 27400, filesDone: 120, filesTotal: 500, bytesDone: 9000,
                                     bytesTotal: 41000, errors: 2, detections: 1, lastCompletedAt: 1_795_400_000))
        #expect(try RescanProgress(json: progress.json()) == progress)
        // A file with only the check mode's keys loads too.
        let minimal = try RescanProgress(json: Array(#"{"filesDone": 3, "bytesDone": 4, "errors": 0, "detections": 0}"#.utf8))
        #expect(minimal.filesDone == 3 && minimal.trees.isEmpty && !minimal.completed)
    }
}
