import Glibc
import ScanCore
import ScanCoreTestSupport
import Testing

@Suite("inotify decoder")
struct InotifyDecoderTests {
    @Test("records with and without names, padded, hostile bytes kept")
    func decodesRecords() {
        let events = [
            InotifyEvent(watch: 1, mask: [.closeWrite], name: Array("doc 1.pdf".utf8)),
            InotifyEvent(watch: 2, mask: [.create, .isDirectory], name: Array("new\ndir".utf8)),
            InotifyEvent(watch: 3, mask: [.movedTo], cookie: 77, name: [0x2D, 0x66, 0xFF, 0xFE]),
            InotifyEvent(watch: 1, mask: [.deleteSelf]),
            InotifyEvent(watch: -1, mask: [.queueOverflow]),
        ]
        let buffer = events.flatMap { $0.encoded() }
        let decoded = InotifyDecoder.decode(buffer)
        #expect(decoded.events == events)
        #expect(decoded.leftover == 0)
    }

    @Test("a truncated record is left over, not decoded")
    func truncated() {
        let whole = InotifyEvent(watch: 5, mask: [.closeWrite], name: Array("a".utf8)).encoded()
        let cut = whole + Array(InotifyEvent(watch: 6, mask: [.modify], name: Array("bbbb".utf8)).encoded().prefix(20))
        let decoded = InotifyDecoder.decode(cut)
        #expect(decoded.events == [InotifyEvent(watch: 5, mask: [.closeWrite], name: Array("a".utf8))])
        #expect(decoded.leftover == 20)
        #expect(InotifyDecoder.decode(Array(whole.prefix(10))).leftover == 10)
        #expect(InotifyDecoder.decode([]).events.isEmpty)
    }

    @Test("what the kernel writes decodes to the events that happened")
    func realKernelBuffer() throws {
        let tree = try TemporaryTree(prefix: "ino")
        let fd = inotify_init1(Int32(O_NONBLOCK | O_CLOEXEC))
        try #require(fd >= 0)
        defer { close(fd) }
        let watch = inotify_add_watch(fd, tree.root, InotifyMask.queueWatch.rawValue)
        try #require(watch >= 0)
        _ = try tree.file("-x\nname", contents: [1, 2, 3])
        _ = try tree.directory("sub")
        #expect(rename(tree.path("-x\nname"), tree.path("renamed")) == 0)
        var buffer = [UInt8](repeating: 0, count: 65536)
        let count = read(fd, &buffer, buffer.count)
        try #require(count > 0)
        let decoded = InotifyDecoder.decode(Array(buffer.prefix(count)))
        #expect(decoded.leftover == 0)
        let summary = decoded.events.map { "\($0.watch == watch) \($0.mask.rawValue) \(String(decoding: $0.name, as: UTF8.self))" }
        let name = "-x\nname"
        #expect(summary.contains("true \(InotifyMask.create.rawValue) \(name)"))
        #expect(summary.contains("true \(InotifyMask.closeWrite.rawValue) \(name)"))
        #expect(summary.contains("true \(InotifyMask([.create, .isDirectory]).rawValue) sub"))
        #expect(summary.contains("true \(InotifyMask.movedFrom.rawValue) \(name)"))
        #expect(summary.contains("true \(InotifyMask.movedTo.rawValue) renamed"))
        let from = decoded.events.first { $0.mask == .movedFrom }, to = decoded.events.first { $0.mask == .movedTo }
        #expect(from?.cookie != 0 && from?.cookie == to?.cookie)
    }
}

@Suite("watch tracker")
struct WatchTrackerTests {
    static let name = Array("a/doc.pdf".utf8)

    func tracker() -> WatchTracker {
        var tracker = WatchTracker()
        tracker.watching(1, directory: [])
        tracker.watching(2, directory: Array("a".utf8))
        return tracker
    }

    @Test("closed and quiet for the settle time: ready; a write after the close starts over")
    func settle() {
        var t = tracker()
        _ = t.apply(InotifyEvent(watch: 2, mask: .create, name: Array("doc.pdf".utf8)), now: 10)
        _ = t.apply(InotifyEvent(watch: 2, mask: .modify, name: Array("doc.pdf".utf8)), now: 10.2)
        #expect(t.ready(now: 20, settle: 1).isEmpty)  // never closed
        #expect(t.nextDeadline(settle: 1) == nil)
        _ = t.apply(InotifyEvent(watch: 2, mask: .closeWrite, name: Array("doc.pdf".utf8)), now: 20.5)
        #expect(t.ready(now: 21.4, settle: 1).isEmpty)
        #expect(t.nextDeadline(settle: 1) == 21.5)
        #expect(t.ready(now: 21.5, settle: 1) == [Self.name])
        _ = t.apply(InotifyEvent(watch: 2, mask: .modify, name: Array("doc.pdf".utf8)), now: 21.6)
        #expect(t.ready(now: 30, settle: 1).isEmpty)
        _ = t.apply(InotifyEvent(watch: 2, mask: .closeWrite, name: Array("doc.pdf".utf8)), now: 30)
        _ = t.apply(InotifyEvent(watch: 2, mask: .attrib, name: Array("doc.pdf".utf8)), now: 30.8)
        #expect(t.ready(now: 31.5, settle: 1).isEmpty)  // chmod after close: still settling
        #expect(t.ready(now: 31.8, settle: 1) == [Self.name])
        t.take([Self.name])
        #expect(t.pending.isEmpty)
    }

    @Test("renamed in is ready; deleted or renamed away is forgotten; unknown watches ignored")
    func renames() {
        var t = tracker()
        _ = t.apply(InotifyEvent(watch: 1, mask: .movedTo, name: Array("x".utf8)), now: 1)
        #expect(t.ready(now: 2, settle: 1) == [Array("x".utf8)])
        _ = t.apply(InotifyEvent(watch: 1, mask: .movedFrom, name: Array("x".utf8)), now: 1.5)
        _ = t.apply(InotifyEvent(watch: 2, mask: .closeWrite, name: Array("y".utf8)), now: 1)
        _ = t.apply(InotifyEvent(watch: 2, mask: .delete, name: Array("y".utf8)), now: 1.1)
        _ = t.apply(InotifyEvent(watch: 9, mask: .closeWrite, name: Array("z".utf8)), now: 1)
        #expect(t.pending.isEmpty)
    }

    @Test("directories: new ones to watch, gone ones to drop with their pending files; overflow; the root going")
    func directories() {
        var t = tracker()
        #expect(t.apply(InotifyEvent(watch: 2, mask: [.create, .isDirectory], name: Array("b".utf8)), now: 1) == .newDirectory(Array("a/b".utf8)))
        #expect(t.apply(InotifyEvent(watch: 1, mask: [.movedTo, .isDirectory], name: Array("c".utf8)), now: 1) == .newDirectory(Array("c".utf8)))
        t.watching(3, directory: Array("a/b".utf8))
        _ = t.apply(InotifyEvent(watch: 3, mask: .closeWrite, name: Array("f".utf8)), now: 1)
        t.discovered(Array("ab/g".utf8), now: 1)
        #expect(Set(t.watches(under: Array("a".utf8))) == [2, 3])
        #expect(t.apply(InotifyEvent(watch: 1, mask: [.movedFrom, .isDirectory], name: Array("a".utf8)), now: 2) == .directoryGone(Array("a".utf8)))
        #expect(Array(t.pending.keys) == [Array("ab/g".utf8)])  // "ab" is not under "a"
        #expect(t.apply(InotifyEvent(watch: -1, mask: .queueOverflow), now: 2) == .overflow)
        #expect(t.apply(InotifyEvent(watch: 1, mask: .moveSelf), now: 2) == .rootGone)
        #expect(t.apply(InotifyEvent(watch: 3, mask: .ignored), now: 2) == nil)
        #expect(t.directories[3] == nil)
        #expect(t.apply(InotifyEvent(watch: 1, mask: .ignored), now: 2) == .rootGone)
    }

    @Test("discovered files are ready when quiet; a writer still open waits; the sweep leaves in-flight files alone")
    func discoveredAndInFlight() {
        var t = tracker()
        t.discovered(Array("a/old".utf8), now: 5)
        #expect(t.ready(now: 6, settle: 1) == [Array("a/old".utf8)])
        t.stillOpen(Array("a/old".utf8), retryAt: 8)
        #expect(t.ready(now: 7, settle: 1).isEmpty)
        #expect(t.ready(now: 8, settle: 1) == [Array("a/old".utf8)])
        _ = t.apply(InotifyEvent(watch: 2, mask: .modify, name: Array("writing".utf8)), now: 5)
        _ = t.apply(InotifyEvent(watch: 2, mask: .closeWrite, name: Array("closed".utf8)), now: 5)
        #expect(t.inFlight(now: 6, recent: 10) == [Array("a/old".utf8), Array("a/writing".utf8), Array("a/closed".utf8)])
        // A writer quiet for longer than `recent` without closing: the sweep's again.
        #expect(t.inFlight(now: 20, recent: 10) == [Array("a/old".utf8), Array("a/closed".utf8)])
    }
}
