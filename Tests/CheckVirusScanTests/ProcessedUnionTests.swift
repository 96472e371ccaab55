import Foundation
import ScanCore
import ScanCoreTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Issue 11, item 1: after a real `drain` wrote the scan journal, files another scanner moves (the
/// legacy cron mover: a plain rename) still count — `wait`, `stuck` and `infected` read the union of
/// the journal and the outcome trees, each file once — and journal records name their pipeline, so
/// two roots sharing one state directory never read each other's records.
@Suite("Processed files: journal and outcome trees, one pipeline", .serialized)
struct ProcessedUnionTests {
    typealias Setup = DrainCommandTests.Setup

    /// Three uploads that waited 15 minutes (one EICAR), drained for real (libclamav).
    static func drainThree(_ setup: Setup, prefix: String = "drained") throws {
        let placed = WallClock.now() - 900
        try setup.tree.file("uploads/incoming/\(prefix)/a.pdf", contents: Array("clean a".utf8), mtime: placed)
        try setup.tree.file("uploads/incoming/\(prefix)/b.pdf", contents: Array("clean b".utf8), mtime: placed)
        try setup.tree.file("uploads/incoming/\(prefix)/v.exe", contents: EICAR.bytes, mtime: placed)
        let run = try Plugin.run(setup.arguments())
        #expect(run.exitCode == 0, "\(run)")
        #expect(run.lines.contains { $0.hasPrefix("drain incoming (libclamav): 3 scanned, 2 clean, 1 infected, 0 errors, 3 moved,") }, "\(run)")
    }

    /// What the legacy cron mover does: five uploads that waited 50 minutes, renamed into clean/ (four)
    /// and infected/ (one, EICAR), no journal.
    static func legacyMovesFive(_ setup: Setup) throws {
        let placed = WallClock.now() - 3000
        for i in 1...5 {
            let name = "legacy/\(i).pdf"
            try setup.tree.file("uploads/incoming/" + name, contents: i == 5 ? EICAR.bytes : Array("legacy \(i)".utf8), mtime: placed)
            let target = (i == 5 ? setup.infected : setup.clean) + "/" + name
            try FileManager.default.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            #expect(rename(setup.incoming + "/" + name, target) == 0)
        }
    }

    static func check(_ setup: Setup, _ mode: String, _ extra: [String]) throws -> Plugin.Run {
        try Plugin.run([mode, "--root", setup.root, "--state-dir", setup.state, "--queue", "incoming"] + extra)
    }

    @Test("drain, then a legacy mover: wait CRITICAL over both sets, stuck and infected count both, each file once")
    func drainThenLegacyMover() throws {
        let setup = try Setup()
        try Self.drainThree(setup)
        try Self.legacyMovesFive(setup)

        let wait = try Self.check(setup, "wait", ["-w", "20m", "-c", "40m"])
        #expect(wait.exitCode == 2, "\(wait)")
        #expect(wait.statusLine.hasPrefix("VIRUS_SCAN CRITICAL - p90 wait 50m"), "\(wait)")
        #expect(wait.perf("processed")?.value == 8, "\(wait)")
        #expect(wait.perf("wait_p90").map { $0.value >= 3000 && $0.value < 3060 } == true, "\(wait)")
        #expect(wait.lines.contains("sources: 0 from journal, 5 from outcome tree, 3 from journal and outcome tree"), "\(wait)")
        #expect(wait.lines.contains { $0.hasPrefix("  waited 50m") && $0.hasSuffix("incoming/legacy/1.pdf (clean; outcome tree)") }, "\(wait)")
        #expect(wait.lines.contains { $0.hasPrefix("  waited 15m") && $0.hasSuffix("incoming/drained/a.pdf (clean; journal and outcome tree)") }, "\(wait)")

        let stuck = try Self.check(setup, "stuck", ["--window", "30m"])
        #expect(stuck.exitCode == 0, "\(stuck)")
        #expect(stuck.perf("incoming_processed")?.value == 8, "\(stuck)")

        let infected = try Self.check(setup, "infected", ["-w", "0", "-c", "1"])
        #expect(infected.exitCode == 2, "\(infected)")
        #expect(infected.perf("infected")?.value == 2, "\(infected)")
        #expect(infected.lines.contains { $0.hasSuffix("incoming/drained/v.exe (68 B) Eicar-Test-Signature.UNOFFICIAL [journal and outcome tree]") }, "\(infected)")
        #expect(infected.lines.contains { $0.hasSuffix("incoming/legacy/5.pdf (68 B) [outcome tree]") }, "\(infected)")
    }

    @Test("stuck: a queue the legacy mover keeps moving is not stuck because the journal's last drain is older than the window")
    func legacyMovingIsNotStuck() throws {
        let setup = try Setup()
        try Self.drainThree(setup)
        try setup.tree.file("uploads/incoming/waiting.pdf", contents: Array("waiting".utf8), mtime: WallClock.now() - 3600)
        Thread.sleep(forTimeInterval: 4)
        try Self.legacyMovesFive(setup)
        let stuck = try Self.check(setup, "stuck", ["--window", "3s"])
        #expect(stuck.exitCode == 0, "\(stuck)")
        #expect(stuck.perf("incoming_processed")?.value == 5, "\(stuck)")
        #expect(stuck.lines.contains { $0.hasPrefix("[OK] incoming: 1 file waiting; last processed") && $0.hasSuffix("(outcome tree)") }, "\(stuck)")
    }

    @Test("two roots sharing one state dir: each check sees only its own journal records")
    func twoRootsShareAStateDirectory() throws {
        let first = try Setup()
        let second = try Setup()
        // The second root keeps its state in the first one's state directory.
        let shared = first.state
        func secondArguments() -> [String] {
            var arguments = second.arguments()
            arguments[arguments.firstIndex(of: "--state-dir")! + 1] = shared
            return arguments
        }
        try Self.drainThree(first)
        // The second root's drain: two infected files and one clean, into the shared journal.
        let placed = WallClock.now() - 900
        try second.tree.file("uploads/incoming/x1.exe", contents: EICAR.bytes, mtime: placed)
        try second.tree.file("uploads/incoming/x2.exe", contents: EICAR.bytes + [0x0a], mtime: placed)
        try second.tree.file("uploads/incoming/ok.pdf", contents: Array("fine".utf8), mtime: placed)
        let drained = try Plugin.run(secondArguments())
        #expect(drained.exitCode == 0, "\(drained)")
        // The second root's outcome trees are then emptied (published, archived): only the journal knows them.
        for name in ["infected/x1.exe", "infected/x2.exe", "clean/ok.pdf"] { #expect(unlink(second.root + "/" + name) == 0) }

        let mine = try Plugin.run(["infected", "--root", first.root, "--state-dir", shared, "--queue", "incoming", "-w", "0", "-c", "5"])
        #expect(mine.perf("infected")?.value == 1, "\(mine)")
        #expect(!mine.lines.contains { $0.contains("x1.exe") || $0.contains("x2.exe") }, "\(mine)")
        #expect(mine.lines.contains("  3 journal records of other pipelines sharing the state directory skipped"), "\(mine)")
        let theirs = try Plugin.run(["infected", "--root", second.root, "--state-dir", shared, "--queue", "incoming", "-w", "0", "-c", "5"])
        #expect(theirs.perf("infected")?.value == 2, "\(theirs)")
        #expect(!theirs.lines.contains { $0.contains("drained/v.exe") }, "\(theirs)")
        let theirWait = try Plugin.run(["wait", "--root", second.root, "--state-dir", shared, "--queue", "incoming", "-w", "20m", "-c", "40m"])
        #expect(theirWait.perf("processed")?.value == 3, "\(theirWait)")
        #expect(theirWait.lines.contains("sources: 3 from journal, 0 from outcome tree, 0 from journal and outcome tree"), "\(theirWait)")
        // The records name the real path of their root.
        let records = try ScanJournal(path: shared + "/journal.jsonl").records(since: 0).records
        #expect(Set(records.compactMap(\.pipeline)) == [PipelineLayout.standard(root: first.root).pipelineIdentity,
                                                      PipelineLayout.standard(root: second.root).pipelineIdentity])
        #expect(records.allSatisfy { $0.inode != nil && $0.device != nil })
    }
}
