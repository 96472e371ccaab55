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
}
