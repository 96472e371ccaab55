import Glibc
import ScanCore
import ScanCoreTestSupport
import Testing

@Suite("Scan journal")
struct ScanJournalTests {
    func record(_ scanned: Double, _ path: String, verdict: String = "clean") -> JournalRecord {
        JournalRecord(time: scanned, queue: "incoming", path: path, size: 10, placed: scanned - 100, scanned: scanned,
                      verdict: verdict, signature: verdict == "infected" ? "Eicar-Test-Signature" : nil,
                      duration: 0.5, source: "drain", engine: "clamd", action: "moved")
    }

    @Test("appended records read back exactly, in window, across chunk boundaries")
    func roundTrip() throws {
        let tree = try TemporaryTree()
        let journal = ScanJournal(path: tree.path("state/sub/journal.jsonl"))
        #expect(!journal.exists)
        #expect(try journal.records(since: 0).records.isEmpty)
        // 5,000 records (~1 MB: several 256 KiB chunks), one per second.
        let records = (0..<5000).map { record(1_000_000 + Double($0), "dir/file \($0).pdf", verdict: $0 % 100 == 0 ? "infected" : "clean") }
        try journal.append(Array(records[0..<2500]))
        try journal.append(Array(records[2500...]))
        #expect(journal.exists)
        let recent = try journal.records(since: 1_000_000 + 4000)
        #expect(recent.skipped == 0)
        #expect(recent.records == Array(records[4000...]))
        #expect(recent.records.first?.wait == 100)
        let all = try journal.records(since: 0)
        #expect(all.records.count == 5000)
        #expect(all.records.filter { $0.verdict == "infected" }.count == 50)
    }

    @Test("a few records out of order do not end the backwards read early")
    func outOfOrder() throws {
        let tree = try TemporaryTree()
        let journal = ScanJournal(path: tree.path("journal.jsonl"))
        try journal.append((0..<100).map { record(10_000 + Double($0), "old \($0)") })
        try journal.append([record(50_000, "recent 1"), record(20_000, "late writer"), record(50_001, "recent 2")])
        #expect(try journal.records(since: 40_000).records.map(\.path) == ["recent 1", "recent 2"])
        #expect(try journal.records(since: 10_050).records.count == 50 + 3)
    }

    @Test("malformed lines are skipped and counted; odd names survive escaped")
    func malformed() throws {
        let tree = try TemporaryTree()
        let path = tree.path("journal.jsonl")
        let journal = ScanJournal(path: path)
        try journal.append([record(100, PathEscaping.display(Array("new\nline".utf8) + [0xFF]))])
        let fd = open(path, O_WRONLY | O_APPEND)
        let garbage = Array("not json\n{\"half\":".utf8)  // a writer killed mid-line: no final newline
        _ = write(fd, garbage, garbage.count)
        close(fd)
        try journal.append([record(200, "b")])
        let result = try journal.records(since: 0)
        #expect(result.skipped == 2)
        #expect(result.records.map(\.path) == ["new\\nline\\xff", "b"])
    }

    @Test("the writer rotates a full journal to .1; readers read across both and say how far back they reach")
    func rotation() throws {
        let tree = try TemporaryTree()
        let journal = ScanJournal(path: tree.path("journal.jsonl"), pipeline: "/p", rotateBytes: 16_384)
        for i in 0..<400 { try journal.append([record(1_000 + Double(i), "file \(i).pdf")]) }
        var current = stat(), rotated = stat()
        #expect(stat(journal.path, &current) == 0 && stat(journal.rotatedPath, &rotated) == 0)
        #expect(current.st_size <= 16_384 && rotated.st_size <= 16_384 && rotated.st_size > 16_000)
        // The last 50 come from the current file, or from both when it was rotated within them.
        let recent = try journal.read(since: 1_350)
        #expect(recent.records.map(\.path) == (350..<400).map { "file \($0).pdf" })
        #expect(recent.coversSince == nil)
        // A window reaching past both generations: everything kept, in order, and where it starts.
        let all = try journal.read(since: 0)
        let kept = all.records.map(\.scanned)
        #expect(kept == kept.sorted() && kept.last == 1_399 && kept.count < 400 && kept.count > 60)
        #expect(all.coversSince == kept.first)
        #expect(all.malformed == 0)
        // Without the current file (removed by hand, or rotated by logrotate) the rotated one is still read.
        #expect(unlink(journal.path) == 0)
        #expect(try journal.read(since: 0).records.last?.scanned ?? 0 < 1_399)
    }

    @Test("readers keep their pipeline's records, count the others and those with no pipeline")
    func pipelines() throws {
        let tree = try TemporaryTree()
        let path = tree.path("journal.jsonl")
        try ScanJournal(path: path, pipeline: "/a").append([record(100, "a1"), record(101, "a2")])
        try ScanJournal(path: path, pipeline: "/b").append([record(102, "b1")])
        try ScanJournal(path: path).append([record(103, "old")])
        let a = try ScanJournal(path: path, pipeline: "/a").read(since: 0)
        #expect(a.records.map(\.path) == ["a1", "a2"])
        #expect(a.otherPipelines == 1 && a.unattributed == 1)
        #expect(a.records.allSatisfy { $0.pipeline == "/a" })
        #expect(try ScanJournal(path: path, pipeline: "/b").read(since: 0).records.map(\.path) == ["b1"])
        #expect(try ScanJournal(path: path).records(since: 0).records.count == 4)
    }
}
