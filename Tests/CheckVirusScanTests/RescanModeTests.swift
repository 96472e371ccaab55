import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `rescan` driven by a real state file and a real flock held by this test process.
@Suite("Rescan mode", .serialized)
struct RescanModeTests {
    final class HeldLock {
        let fd: Int32
        init(_ path: String) {
            fd = open(path, O_RDWR | O_CREAT, 0o644)
            precondition(fd >= 0 && flock(fd, LOCK_EX) == 0)
        }
        deinit { close(fd) }
    }

    func writeState(_ tree: PipelineTree, _ json: String) throws {
        try json.write(toFile: tree.root + "/state/rescan-state.json", atomically: true, encoding: .utf8)
    }

    func args(_ tree: PipelineTree, _ extra: [String]) -> [String] {
        tree.args("rescan", ["--lock", tree.root + "/rescan.lock"] + extra)
    }

    @Test func runningPassIsTimedAgainstThresholds() throws {
        let tree = try PipelineTree()
        let now = tree.now
        try writeState(tree, """
            {"started": \(Int(now) - 7200), "databaseVersion": 27400, "filesDone": 250, "filesTotal": 1000,
             "bytesDone": 2500, "bytesTotal": 10000, "errors": 1, "detections": 2, "lastCompletedAt": \(Int(now) - 86400 * 2)}
            """)
        let lock = HeldLock(tree.root + "/rescan.lock")
        let pid = getpid()
        let run = try Plugin.run(args(tree, ["-w", "1d", "-c", "3d"]))
        #expect(run.exitCode == 0, "\(run)")
        #expect(
            run.statusLine
                == "VIRUS_SCAN OK - rescan running for 2h (pid \(pid)), 25% done, ETA 6h | 'rescan_age'=7200s;86400;259200;0 'rescan_progress'=25%;;;0;100 'rescan_files'=250;;;0 'rescan_bytes'=2500B;;;0 'rescan_errors'=1;;;0 'rescan_detections'=2;;;0"
        )
        #expect(run.line(1) == "pass: 250/1000 files, 2.4 KiB/9.8 KiB, daily database 27400, 1 errors, 2 detections")
        let late = try Plugin.run(args(tree, ["-w", "1h", "-c", "2h"]))
        #expect(late.exitCode == 1, "\(late)")  // 7200 is the critical endpoint: inclusive, so WARNING
        #expect(late.statusLine.hasPrefix("VIRUS_SCAN WARNING - rescan running for 2h (pid \(pid)), 25% done, ETA 6h (warning above 1h) |"))
        let critical = try Plugin.run(args(tree, ["-c", "7199s"]))
        #expect(critical.exitCode == 2)
        withExtendedLifetime(lock) {}
    }

    @Test(arguments: [(86400.0, Int32(0)), (259200.0, Int32(0)), (259201.0, Int32(1)), (518400.0, Int32(2))])
    func idleIsTimedSinceLastCompletion(_ since: Double, _ expectedExit: Int32) throws {
        let tree = try PipelineTree()
        try writeState(tree, """
            {"started": \(Int(tree.now - since) - 3600), "filesDone": 10, "bytesDone": 100, "errors": 0, "detections": 0, "lastCompletedAt": \(Int(tree.now - since))}
            """)
        FileManager.default.createFile(atPath: tree.root + "/rescan.lock", contents: nil)
        let run = try Plugin.run(args(tree, ["--stale", "3d", "--stale-critical", "5d"]))
        #expect(run.exitCode == expectedExit, "\(run)")
        #expect(run.perf("since_completed") == PerfItem(label: "since_completed", value: since, unit: "s", warning: "259200", critical: "432000", min: "0", max: ""))
        #expect(run.statusLine.contains("no rescan running; last pass completed \(since == 86400 ? "1d" : "")") || since != 86400)
    }

    @Test func noStateAtAllIsWarning() throws {
        let tree = try PipelineTree()
        let run = try Plugin.run(args(tree, ["--stale", "3d"]))
        #expect(run.exitCode == 1)
        #expect(run.statusLine == "VIRUS_SCAN WARNING - no rescan running and none recorded: no state file at \(tree.root)/state/rescan-state.json")
        #expect(run.line(1) == "lock file \(tree.root)/rescan.lock does not exist")
    }

    @Test func lockHeldWithoutStateIsUnknown() throws {
        let tree = try PipelineTree()
        let lock = HeldLock(tree.root + "/rescan.lock")
        let run = try Plugin.run(args(tree, []))
        #expect(run.exitCode == 3)
        #expect(run.statusLine == "VIRUS_SCAN UNKNOWN - rescan lock \(tree.root)/rescan.lock held by pid \(getpid()) but the state file \(tree.root)/state/rescan-state.json is missing")
        withExtendedLifetime(lock) {}
    }

    @Test func malformedStateIsUnknown() throws {
        let tree = try PipelineTree()
        try writeState(tree, #"{"started": "yesterday"}"#)
        let run = try Plugin.run(args(tree, []))
        #expect(run.exitCode == 3)
        #expect(run.statusLine.hasPrefix("VIRUS_SCAN UNKNOWN - invalid rescan state file \(tree.root)/state/rescan-state.json: started: "), "\(run)")
        #expect(run.lines.count == 2)
    }

    @Test func stateFileOptionAndBadStaleRange() throws {
        let tree = try PipelineTree()
        let run = try Plugin.run(args(tree, ["--stale", "3 days"]))
        #expect(run.stdout == "VIRUS_SCAN UNKNOWN - --stale: '3 days' is not a valid range: end '3 days' is not a number; use N, N:, ~:N, N:M or @N:M (seconds, or with a suffix s/m/h/d)\n")
        try #"{"filesDone": 1, "bytesDone": 1, "errors": 0, "detections": 0}"#.write(toFile: tree.root + "/elsewhere.json", atomically: true, encoding: .utf8)
        let other = try Plugin.run(args(tree, ["--state-file", tree.root + "/elsewhere.json"]))
        #expect(other.exitCode == 1)
        #expect(other.statusLine.hasPrefix("VIRUS_SCAN WARNING - no rescan running and no pass has completed (the last one stopped) |"))
    }
}
