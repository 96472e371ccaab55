import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// FIFOs where the check expects files: every reader opens non-blocking and
/// refuses anything but a regular file, so the check answers at once with the failure named
/// (it used to block in open() until the watchdog, or for ever without one).
@Suite("Non-regular files where files belong", .serialized)
struct NonRegularFileTests {
    @Test func fifoRescanStateIsUnknownAtOnce() throws {
        let tree = try PipelineTree()
        let state = tree.root + "/state/rescan-state.json"
        #expect(mkfifo(state, 0o600) == 0)
        let run = try Plugin.run(tree.args("rescan", ["--lock", tree.root + "/rescan.lock", "-t", "10"]), limit: 15)
        #expect(run.exitCode == 3, "\(run)")
        #expect(run.stdout == "VIRUS_SCAN UNKNOWN - cannot read rescan state file \(state): not a regular file (a FIFO, socket, device or directory)\n", "\(run)")
        #expect(run.seconds < 2, "took \(run.seconds) s")
    }

    @Test func fifoJournalIsUnknownAtOnce() throws {
        let tree = try PipelineTree()
        let journal = tree.root + "/state/journal.jsonl"
        #expect(mkfifo(journal, 0o600) == 0)
        let run = try Plugin.run(tree.args("wait", ["-t", "10"]), limit: 15)
        #expect(run.exitCode == 3, "\(run)")
        #expect(run.statusLine.hasPrefix("VIRUS_SCAN UNKNOWN - scan journal: cannot read the scan journal \(journal): not a regular file"), "\(run)")
        #expect(run.seconds < 2, "took \(run.seconds) s")
    }

    @Test func fifoDailyCvdIsCriticalAtOnce() throws {
        let database = FileManager.default.temporaryDirectory.appendingPathComponent("cvs-fifo-db-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: database, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: database) }
        #expect(mkfifo(database + "/daily.cvd", 0o600) == 0)
        let run = try Plugin.run(["signatures", "--database-dir", database, "--no-clamd", "-t", "10"], limit: 15)
        #expect(run.exitCode == 2, "\(run)")
        #expect(run.statusLine == "VIRUS_SCAN CRITICAL - no daily database in \(database)", "\(run)")
        #expect(run.seconds < 2, "took \(run.seconds) s")
    }
}
