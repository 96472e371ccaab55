import Foundation
import ScanCore
import ScanCoreTestSupport
import Testing

/// The rescan state file is validated, not trusted: each kind of bogus state makes rescan-clean
/// exit 5 (touching nothing) and the `rescan` check mode UNKNOWN; `--new-pass` starts over.
@Suite("rescan state validation", .serialized)
struct RescanStateValidationTests {
    /// A completed pass over 35 files, then its state turned back into an unfinished one, 21
    /// files done, resuming after `checkpoint` (as a real interrupted pass would have it).
    static func interrupted(_ f: RescanFixture, checkpoint: String) throws -> RescanProgress {
        var progress = try f.state()
        progress.completed = false
        progress.filesDone = 21
        progress.bytesDone = 21
        progress.trees[0].done = false
        progress.trees[0].checkpoint = checkpoint
        for index in progress.trees.indices.dropFirst() { progress.trees[index].done = false; progress.trees[index].checkpoint = nil }
        return progress
    }

    func write(_ f: RescanFixture, _ bytes: [UInt8]) throws {
        try FileOutput.write(String(decoding: bytes, as: UTF8.self), to: f.statePath)
    }

    func check(_ f: RescanFixture) throws -> Plugin.Run {
        try Plugin.run(["rescan", "--root", f.root, "--state-dir", f.stateDir, "--lock", f.lockPath])
    }

    @Test func bogusStatesExitFiveAndTheCheckIsUnknown() throws {
        let f = try RescanFixture()
        let files = try f.populate("clean", count: 35).sorted { RescanPath.precedes(Array($0.utf8), Array($1.utf8)) }
        let first = try f.run()
        #expect(first.exitCode == 0, "\(first)")
        #expect(try f.auditRecords().count == 35)
        let checkpoint = files[20]
        let valid = try Self.interrupted(f, checkpoint: checkpoint)

        var cases: [(name: String, bytes: [UInt8], problem: String)] = []
        var zzzz = valid
        zzzz.trees[0].checkpoint = "zzzz"
        cases.append(("checkpoint not in the tree", zzzz.json(), "the checkpoint \"zzzz\" is not a path of \(f.root)/clean"))
        var escaping = valid
        escaping.trees[0].checkpoint = "../draft-clean/x"
        cases.append(("checkpoint not a relative path", escaping.json(), "the checkpoint \"../draft-clean/x\" of \(f.root)/clean is not a relative path"))
        var negative = valid
        negative.errors = -3
        cases.append(("negative counter", negative.json(), "errors is negative (-3)"))
        var over = valid
        over.filesDone = 40
        cases.append(("done > total", over.json(), "filesDone 40 is more than filesTotal 35"))
        var future = valid
        future.format = 2
        cases.append(("unknown format", future.json(), "unknown format 2 (this version reads 1)"))

        for (name, bytes, problem) in cases {
            try write(f, bytes)
            let audited = try f.auditRecords().count
            let run = try f.run()
            #expect(run.exitCode == 5, "\(name): \(run)")
            #expect(run.stderr.contains("the rescan state file \(f.statePath) is invalid: \(problem)"), "\(name): \(run)")
            #expect(run.stderr.contains("not trusted; --new-pass starts a new pass"), "\(name): \(run)")
            #expect(!run.stdout.contains("pass completed"), "\(name): \(run)")
            #expect(try f.auditRecords().count == audited, "\(name): nothing scanned")
            #expect(Array(try Data(contentsOf: URL(fileURLWithPath: f.statePath))) == bytes, "\(name): the state file is left as it was")
            let mode = try check(f)
            #expect(mode.exitCode == 3, "\(name): \(mode)")
            #expect(mode.statusLine.hasPrefix("VIRUS_SCAN UNKNOWN - rescan state file \(f.statePath) is invalid: \(problem)"), "\(name): \(mode)")
        }

        try write(f, Array("{\"format\": 1, \"filesDone\": \"many\"}".utf8))
        let garbage = try f.run()
        #expect(garbage.exitCode == 5, "\(garbage)")
        #expect(garbage.stderr.contains("the rescan state file \(f.statePath) does not parse ("), "\(garbage)")

        // --new-pass starts over and rescans every file.
        try write(f, zzzz.json())
        let audited = try f.auditRecords().count
        let fresh = try f.run(["--new-pass"])
        #expect(fresh.exitCode == 0, "\(fresh)")
        #expect(fresh.stdout.contains("pass completed"), "\(fresh)")
        #expect(try f.auditRecords().count == audited + 35)
        #expect(try check(f).exitCode == 0)
    }

    @Test func aValidCheckpointResumesEvenWhenItsFileWasQuarantined() throws {
        let f = try RescanFixture()
        let files = try f.populate("clean", count: 35).sorted { RescanPath.precedes(Array($0.utf8), Array($1.utf8)) }
        #expect(try f.run().exitCode == 0)
        try write(f, try Self.interrupted(f, checkpoint: files[20]).json())
        #expect(try check(f).exitCode == 0)
        let audited = try f.auditRecords().count
        let resumed = try f.run()
        #expect(resumed.exitCode == 0, "\(resumed)")
        #expect(try f.auditRecords().count == audited + 14, "the 14 files after the checkpoint")
        // The checkpoint's file went to infected (a detection at the checkpoint): still a path of the tree's pair.
        try write(f, try Self.interrupted(f, checkpoint: files[20]).json())
        let moved = f.root + "/infected/" + files[20]
        try FileManager.default.createDirectory(atPath: (moved as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        #expect(rename(f.root + "/clean/" + files[20], moved) == 0)
        #expect(try check(f).exitCode == 0)
        let again = try f.run()
        #expect(again.exitCode == 0, "\(again)")
    }
}
