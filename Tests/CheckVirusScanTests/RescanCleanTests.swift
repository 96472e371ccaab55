import Foundation
import ScanCore
import ScanCoreTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `check_virus_scan rescan-clean` end to end: the built binary, real libclamav with the small
/// generated database, real trees, real locks and signals.
@Suite("rescan-clean", .serialized)
struct RescanCleanTests {
    @Test("the check modes' -t is refused with the options that do apply; a bad --scan-timeout is refused")
    func checkTimeoutIsRefused() throws {
        let f = try RescanFixture()
        try f.populate("clean", count: 3)
        for extra in [["-t", "30"], ["--timeout", "2m"]] {
            let run = try f.run(extra)
            #expect(run.exitCode == 64, "\(run)")
            #expect(run.stderr.contains("--timeout is the check modes' time limit and does not apply to rescan-clean: use --stop-after for the whole run, --scan-timeout per file"), "\(run)")
        }
        let zero = try f.run(["--scan-timeout", "0"])
        #expect(zero.exitCode == 64, "\(zero)")
        #expect(zero.stderr.contains("--scan-timeout: must be at least 1 second"), "\(zero)")
        #expect(try f.auditRecords().isEmpty)
        let fine = try f.run(["--scan-timeout", "30"])
        #expect(fine.exitCode == 0, "\(fine)")
        #expect(try f.auditRecords().count == 3)
    }

    @Test func detectionMidTreeIsQuarantinedAndOnlyThatFileMoves() throws {
        let f = try RescanFixture()
        let files = try f.populate("clean", count: 40)
        try f.populate("draft-clean", count: 10, seed: 9)
        let infected = "2024/02/odd name/m eicar.com"
        try f.tree.file("clean/" + infected, contents: EICAR.bytes, mtime: 1_700_000_500)
        // A symlink to an infected file outside the tree: never followed, never moved.
        try f.tree.file("outside/eicar.com", contents: EICAR.bytes)
        try f.tree.symlink("clean/2024/10/link.com", to: f.root + "/outside/eicar.com")
        let cleanBefore = listTree(f.root + "/clean")
        let draftBefore = listTree(f.root + "/draft-clean")

        let run = try f.run()
        #expect(run.exitCode == 1, "\(run)")
        #expect(run.stdout.contains("INFECTED incoming: \(infected): \(SignatureFixtures.reportedEicar): moved to \(f.root)/infected/\(infected)\n"), "\(run)")
        #expect(run.stdout.contains("skipped incoming: 2024/10/link.com: symlink, not a regular file\n"))

        // Exactly that file moved, with identical bytes and mtime; everything else untouched.
        let infectedAfter = listTree(f.root + "/infected")
        #expect(infectedAfter.count == 1)
        let moved = try #require(infectedAfter[Array(infected.utf8)])
        #expect(moved.contents == EICAR.bytes)
        #expect(moved.mtime == 1_700_000_500)
        var expectedClean = cleanBefore
        expectedClean[Array(infected.utf8)] = nil
        #expect(treeDifferences(listTree(f.root + "/clean"), expectedClean) == [])
        #expect(treeDifferences(listTree(f.root + "/draft-clean"), draftBefore) == [])
        #expect(listTree(f.root + "/draft-infected").isEmpty)
        #expect(listTree(f.root + "/outside")[Array("eicar.com".utf8)]?.contents == EICAR.bytes)

        // The scan journal: one record, the detection.
        let journal = try f.journal()
        #expect(journal.count == 1)
        let record = try #require(journal.first)
        #expect(record.queue == "incoming")
        #expect(record.path == infected)
        #expect(record.verdict == "infected")
        #expect(record.signature == SignatureFixtures.reportedEicar)
        #expect(record.source == "rescan")
        #expect(record.action == "moved")
        #expect(record.engine == "libclamav")
        #expect(record.size == Int64(EICAR.bytes.count))
        #expect(record.placed == 1_700_000_500)

        // The audit journal: every regular file exactly once.
        let audit = try f.auditRecords()
        #expect(audit.count == 51)
        #expect(Set(audit.filter { $0.queue == "incoming" }.map(\.path)) == Set(files + [infected]))

        // The state file.
        let state = try f.state()
        #expect(state.completed)
        #expect(state.filesDone == 51)
        #expect(state.filesTotal == 51)
        #expect(state.bytesDone == state.bytesTotal)
        #expect(state.detections == 1)
        #expect(state.errors == 0)
        #expect(state.skipped == 1)
        #expect(state.yielding == false)
        #expect(state.trees.map(\.done) == [true, true])
        #expect(state.lastCompletedAt != nil)
        // What the check mode reads decodes from the same file.
        let checkView = try #require(try RescanState.load(path: f.statePath))
        #expect(checkView == state.state)
    }

    @Test func reportOnlyMovesNothing() throws {
        let f = try RescanFixture()
        try f.populate("clean", count: 12)
        try f.tree.file("clean/2024/01/x.zip", contents: SignatureFixtures.eicarZip())
        let before = listTree(f.root + "/clean")
        let run = try f.run(["--report-only"])
        #expect(run.exitCode == 1, "\(run)")
        #expect(run.stdout.contains("INFECTED incoming: 2024/01/x.zip: \(SignatureFixtures.reportedEicar): reported only (--report-only), left in \(f.root)/clean\n"))
        #expect(treeDifferences(listTree(f.root + "/clean"), before) == [])
        #expect(listTree(f.root + "/infected").isEmpty)
        let journal = try f.journal()
        #expect(journal.map(\.action) == ["report-only"])
        #expect(journal.map(\.verdict) == ["infected"])
        #expect(try f.state().detections == 1)
    }

    @Test func scanErrorsAreCountedAndNeverTreatedAsInfected() throws {
        let f = try RescanFixture()
        try f.populate("clean", count: 5, maxSize: 900)
        try f.tree.file("clean/big.bin", size: 3000)
        let before = listTree(f.root + "/clean")
        let run = try f.run(["--max-file-size", "1k"])
        #expect(run.exitCode == 2, "\(run)")
        #expect(run.stdout.contains("ERROR incoming: big.bin: size limit exceeded"), "\(run)")
        #expect(treeDifferences(listTree(f.root + "/clean"), before) == [])
        #expect(listTree(f.root + "/infected").isEmpty)
        let journal = try f.journal()
        #expect(journal.count == 1)
        #expect(journal.first?.verdict == "error")
        #expect(journal.first?.action == "kept")
        #expect(journal.first?.path == "big.bin")
        let state = try f.state()
        #expect(state.errors == 1)
        #expect(state.detections == 0)
        #expect(state.filesDone == 6)
        #expect(state.completed)
    }

    @Test func lockHeldExitsFourAndTouchesNothing() throws {
        let f = try RescanFixture()
        try f.populate("clean", count: 5)
        try f.tree.file("clean/eicar.com", contents: EICAR.bytes)
        let lock = HeldFlock(f.lockPath)
        let before = listTree(f.root)
        let run = try f.run()
        #expect(run.exitCode == 4, "\(run)")
        #expect(run.stdout == "")
        #expect(run.stderr == "rescan-clean: another rescan-clean is running: lock \(f.lockPath) held by pid \(getpid()); nothing was touched\n")
        #expect(treeDifferences(listTree(f.root), before) == [])
        #expect(!FileManager.default.fileExists(atPath: f.statePath))
        #expect(!FileManager.default.fileExists(atPath: f.journalPath))
        // Under --cron: silent, same exit code.
        let quiet = try f.run(["--cron"])
        #expect(quiet.exitCode == 4)
        #expect(quiet.stdout == "" && quiet.stderr == "")
        withExtendedLifetime(lock) {}
    }

    /// SIGKILL at random points, then a run to the end: the pass finishes with exact counts,
    /// nothing lost or duplicated, and each kill makes at most `--jobs` files be scanned again.
    @Test func killedAtRandomPointsResumesWithoutRescanningFinishedParts() throws {
        let f = try RescanFixture()
        let kills = Int(ProcessInfo.processInfo.environment["RESCAN_KILLS"] ?? "") ?? 12
        let seed = UInt64(ProcessInfo.processInfo.environment["RESCAN_KILL_SEED"] ?? "") ?? UInt64(time(nil))
        var rng = SplitMix64(seed: seed)
        var files = try f.populate("clean", count: 200, minSize: 1000, maxSize: 3000)
        files += try f.populate("draft-clean", count: 40, seed: 11, minSize: 1000, maxSize: 3000).map { "draft:" + $0 }
        let infected = ["-dash/e1.com", "2024/10/e2.com", "zz/deep/er/e3.com"]
        for path in infected { try f.tree.file("clean/" + path, contents: EICAR.bytes, mtime: 1_700_000_000) }
        let cleanBefore = listTree(f.root + "/clean")
        let draftBefore = listTree(f.root + "/draft-clean")
        let total = 243
        // Slow enough that the pass outlasts the kills (each run lives 0.15-0.55 s).
        let bytes = cleanBefore.values.reduce(0) { $0 + $1.contents.count } + draftBefore.values.reduce(0) { $0 + $1.contents.count }
        let arguments = ["--max-rate", String(Int(Double(bytes) / (Double(kills) * 0.6)))]

        var boundaries: [Int] = [0]
        var killedMidPass = 0
        for _ in 0..<kills {
            if let state = try? f.state(), state.completed { break }  // a slow machine's kills all landed
            let process = try f.start(arguments)
            usleep(useconds_t(150_000 + rng.next() % 400_000))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            #expect(process.terminationReason == .uncaughtSignal, "\(f.output())")
            boundaries.append(try f.auditRecords().count)
            if let state = try? f.state(), !state.completed { killedMidPass += 1 }
        }
        #expect(killedMidPass >= kills / 2, "only \(killedMidPass) of \(kills) kills landed mid-pass")
        let final = try f.run(arguments)
        #expect([0, 1].contains(final.exitCode), "\(final)")
        #expect(final.stdout.contains("pass completed"), "\(final)")
        let records = try f.auditRecords()
        boundaries.append(records.count)

        // Nothing lost, nothing duplicated, the infected files (only they) moved.
        var expectedClean = cleanBefore
        for path in infected { expectedClean[Array(path.utf8)] = nil }
        #expect(treeDifferences(listTree(f.root + "/clean"), expectedClean) == [])
        #expect(treeDifferences(listTree(f.root + "/draft-clean"), draftBefore) == [])
        let quarantined = listTree(f.root + "/infected")
        #expect(Set(quarantined.keys) == Set(infected.map { Array($0.utf8) }))
        #expect(quarantined.values.allSatisfy { $0.contents == EICAR.bytes })
        let journal = try f.journal()
        #expect(journal.map(\.path).sorted() == infected.sorted())
        #expect(journal.allSatisfy { $0.action == "moved" && $0.source == "rescan" && $0.verdict == "infected" })

        // Exact counts across all the kills.
        let state = try f.state()
        #expect(state.completed)
        #expect(state.filesTotal == total)
        #expect(state.filesDone == total)
        #expect(state.bytesDone == state.bytesTotal)
        #expect(state.detections == 3)
        #expect(state.errors == 0)

        // Every file scanned; each kill made at most --jobs (2) files be scanned again.
        func key(_ r: JournalRecord) -> String { (r.queue == "draft-incoming" ? "draft:" : "") + r.path }
        let allKeys = Set(records.map(key))
        #expect(allKeys.isSuperset(of: Set(files)))
        var rescans = 0
        for k in 1..<boundaries.count - 1 {
            let thisRun = Set(records[boundaries[k - 1]..<boundaries[k]].map(key))
            let nextRun = Set(records[boundaries[k]..<boundaries[k + 1]].map(key))
            let again = thisRun.intersection(nextRun)
            #expect(again.count <= 2, "kill \(k) (seed \(seed)): scanned again: \(again.sorted())")
            rescans += again.count
        }
        #expect(records.count == allKeys.count + rescans, "seed \(seed)")
        print("rescan-clean kill test (seed \(seed)): \(boundaries.count - 2) SIGKILLs, \(killedMidPass) mid-pass; \(records.count) scans of \(allKeys.count) files, \(rescans) scanned again (at most 2 per kill)")
    }

    @Test func newDatabaseVersionStartsNewPass() throws {
        let f = try RescanFixture()
        try f.populate("clean", count: 60, minSize: 2000, maxSize: 2001)
        try UnsignedDailyDatabase.write(to: f.databaseDir, version: 100, buildTime: 1_764_000_000)
        let first = try f.run()
        #expect(first.exitCode == 0, "\(first)")
        #expect(first.stdout.contains("databases daily 100, main none"))
        #expect(try f.state().databaseVersion == 100)
        #expect(try f.auditRecords().count == 60)
        let firstCompleted = try #require(try f.state().lastCompletedAt)

        // Same databases: nothing to do.
        let again = try f.run()
        #expect(again.exitCode == 0)
        #expect(again.stdout.contains("already completed"), "\(again)")
        #expect(try f.auditRecords().count == 60)
        let cron = try f.run(["--cron"])
        #expect(cron.exitCode == 0)
        #expect(cron.stdout == "" && cron.stderr == "")

        // Version 101: a new pass, stopped part-way (--stop-after), then resumed with 101.
        try UnsignedDailyDatabase.write(to: f.databaseDir, version: 101, buildTime: 1_764_086_400)
        let partial = try f.run(["--max-rate", "40k", "--stop-after", "1"])
        #expect(partial.exitCode == 3, "\(partial)")
        #expect(partial.stdout.contains("new pass (new signature databases (daily 101, main none; the last pass ran with daily 100, main none))"), "\(partial)")
        let stopped = try f.state()
        #expect(!stopped.completed)
        #expect(stopped.databaseVersion == 101)
        #expect(stopped.lastCompletedAt == firstCompleted)
        #expect(stopped.filesDone > 0 && stopped.filesDone < 60, "\(stopped.filesDone)")
        #expect(try f.auditRecords().count == 60 + stopped.filesDone)
        let resumed = try f.run()
        #expect(resumed.exitCode == 0, "\(resumed)")
        #expect(resumed.stdout.contains("resuming the pass: \(stopped.filesDone)/60 files done"), "\(resumed)")
        #expect(try f.auditRecords().count == 120)
        let done101 = try f.state()
        #expect(done101.completed && done101.filesDone == 60)

        // Version 102 while a 101 pass is unfinished: starts from the beginning, not resumed.
        try UnsignedDailyDatabase.write(to: f.databaseDir, version: 102, buildTime: 1_764_172_800)
        _ = try f.run(["--max-rate", "40k", "--stop-after", "1"])
        let part102 = try f.state()
        #expect(!part102.completed)
        try UnsignedDailyDatabase.write(to: f.databaseDir, version: 103, buildTime: 1_764_259_200)
        let before103 = try f.auditRecords().count
        let fresh = try f.run()
        #expect(fresh.exitCode == 0, "\(fresh)")
        #expect(fresh.stdout.contains("new pass (new signature databases (daily 103"), "\(fresh)")
        #expect(try f.auditRecords().count == before103 + 60)
        let done103 = try f.state()
        #expect(done103.databaseVersion == 103 && done103.completed && done103.filesDone == 60)
        #expect(try #require(done103.lastCompletedAt) > firstCompleted)
    }

    @Test func yieldsWhileAnIncomingBacklogIsOlderThanYieldAfter() throws {
        let f = try RescanFixture()
        try f.populate("clean", count: 30)
        let now = Date().timeIntervalSince1970
        try f.tree.file("incoming/upload/old.pdf", size: 100, mtime: now - 120)
        try f.tree.file("draft-incoming/young.pdf", size: 100, mtime: now - 5)
        let process = try f.start(["--yield-after", "60"])
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        #expect(waitUntil(20) { (try? f.state())?.yielding == true }, "\(f.output())")
        usleep(500_000)
        let yielding = try f.state()
        #expect(yielding.yielding)
        #expect(yielding.filesDone == 0)
        #expect(yielding.pid == process.processIdentifier)
        #expect(try f.auditRecords().isEmpty)
        #expect(process.isRunning)

        // The rescan mode sees it running (the lock is held) and times it.
        let check = try Plugin.run(["rescan", "--root", f.root, "--state-dir", f.stateDir, "--lock", f.lockPath, "-w", "1h", "-c", "2h"])
        #expect(check.exitCode == 0, "\(check)")
        #expect(check.statusLine.hasPrefix("VIRUS_SCAN OK - rescan running for "), "\(check)")
        #expect(check.statusLine.contains("(pid \(process.processIdentifier)), 0% done"), "\(check)")
        let started = try #require(yielding.started)
        let late = try Plugin.run(["rescan", "--root", f.root, "--state-dir", f.stateDir, "--lock", f.lockPath, "-w", "1h", "-c", "2h", "--now", String(started + 3 * 3600)])
        #expect(late.exitCode == 2, "\(late)")
        #expect(late.statusLine.hasPrefix("VIRUS_SCAN CRITICAL - rescan running for 3h (pid \(process.processIdentifier))"), "\(late)")

        // The backlog is processed: the pass resumes and finishes.
        #expect(unlink(f.root + "/incoming/upload/old.pdf") == 0)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(f.output())")
        let output = f.output()
        #expect(output.contains("yielding: queue incoming has 1 files waiting longer than allowed (oldest 2m)"), "\(output)")
        #expect(output.contains("backlog cleared after"), "\(output)")
        let done = try f.state()
        #expect(done.completed)
        #expect(!done.yielding)
        #expect(done.yieldingSince == nil)
        #expect(done.filesDone == 30)
    }

    @Test func stateDrivesTheRescanModeThroughOKWarningCritical() throws {
        let f = try RescanFixture()
        try f.populate("clean", count: 8)
        let run = try f.run()
        #expect(run.exitCode == 0, "\(run)")
        let state = try f.state()
        let completed = try #require(state.lastCompletedAt)
        func check(after seconds: Double) throws -> Plugin.Run {
            try Plugin.run(["rescan", "--root", f.root, "--state-dir", f.stateDir, "--lock", f.lockPath,
                            "--stale", "1d", "--stale-critical", "2d", "--now", String(completed + seconds)])
        }
        let ok = try check(after: 3600)
        #expect(ok.exitCode == 0, "\(ok)")
        #expect(ok.statusLine.hasPrefix("VIRUS_SCAN OK - no rescan running; last pass completed 1h ago | 'since_completed'=3600s;86400;172800;0 'rescan_progress'=100%;;;0;100 'rescan_files'=8;;;0 'rescan_bytes'=\(state.bytesDone)B;;;0 'rescan_errors'=0;;;0 'rescan_detections'=0;;;0"), "\(ok)")
        let warning = try check(after: 90000)
        #expect(warning.exitCode == 1, "\(warning)")
        #expect(warning.statusLine.hasPrefix("VIRUS_SCAN WARNING - no rescan running; last pass completed 1d1h ago (warning above 1d) | 'since_completed'=90000s;86400;172800;0"), "\(warning)")
        let critical = try check(after: 200_000)
        #expect(critical.exitCode == 2, "\(critical)")
        #expect(critical.perf("since_completed")?.value == 200_000)
    }

    @Test func clamdEngineQuarantinesAndFollowsClamdsDatabaseVersion() throws {
        let f = try RescanFixture()
        try f.populate("clean", count: 20)
        let target = "2024/10/marker.txt"
        try f.tree.file("clean/" + target, contents: UnsignedDailyDatabase.matchingBytes)
        let clamd = try ClamdProcess(ClamdProcess.Configuration()) { directory in
            try SignatureFixtures.writeSmall(to: directory)
            try UnsignedDailyDatabase.write(to: directory, version: 555, buildTime: 1_764_000_000)
        }
        defer { clamd.stop() }
        let run = try Plugin.run(f.arguments(engine: ["--engine", "clamd", "--socket", clamd.socketPath, "--database-dir", clamd.directory + "/db"]))
        #expect(run.exitCode == 1, "\(run)")
        #expect(run.stdout.hasPrefix("rescan-clean: clamd at unix:\(clamd.socketPath); databases daily 555, main none; 2 jobs;"), "\(run)")
        #expect(run.stdout.contains("INFECTED incoming: \(target): \(UnsignedDailyDatabase.signature)"), "\(run)")
        #expect(listTree(f.root + "/infected")[Array(target.utf8)]?.contents == UnsignedDailyDatabase.matchingBytes)
        #expect(listTree(f.root + "/clean")[Array(target.utf8)] == nil)
        let state = try f.state()
        #expect(state.engine == "clamd")
        #expect(state.databaseVersion == 555)
        #expect(state.filesDone == 21 && state.detections == 1 && state.completed)
        #expect(try f.journal().map(\.engine) == ["clamd"])
    }

    @Test func filesAlreadyInTheInfectedTreeAreNeverReplaced() throws {
        let f = try RescanFixture()
        try f.populate("clean", count: 6)
        try f.tree.file("clean/a/eicar.com", contents: EICAR.bytes, mtime: 1_700_000_000)
        let older = Array("an older quarantined file with the same name".utf8)
        try f.tree.file("infected/a/eicar.com", contents: older, mtime: 1_600_000_000)
        try f.tree.file("clean/b/dup.com", contents: EICAR.bytes)
        try f.tree.file("infected/b/dup.com", contents: EICAR.bytes, mtime: 1_600_000_000)
        let run = try f.run()
        #expect(run.exitCode == 1, "\(run)")
        let infected = listTree(f.root + "/infected")
        #expect(infected[Array("a/eicar.com".utf8)]?.contents == older)
        #expect(infected[Array("a/eicar.com".utf8)]?.mtime == 1_600_000_000)
        #expect(infected[Array("b/dup.com".utf8)]?.contents == EICAR.bytes)
        let beside = infected.keys.filter { $0.starts(with: Array("a/eicar.com.rescan-".utf8)) }
        #expect(beside.count == 1)
        #expect(beside.first.flatMap { infected[$0]?.contents } == EICAR.bytes)
        #expect(infected.count == 3)
        let clean = listTree(f.root + "/clean")
        #expect(clean[Array("a/eicar.com".utf8)] == nil)
        #expect(clean[Array("b/dup.com".utf8)] == nil)
        #expect(clean.count == 6)
        #expect(try f.journal().compactMap(\.action).sorted() == ["dropped-duplicate", "moved"])
        #expect(try f.state().detections == 2)
    }

    @Test func hostileNamesAreScannedAndMovedByteExact() throws {
        let f = try RescanFixture()
        let name: [UInt8] = Array("up/n".utf8) + [0xFF, 0x0A] + Array(" -rf \\x.com".utf8)
        _ = try f.tree.file(Array("clean/".utf8) + name, contents: EICAR.bytes, mtime: 1_700_000_000)
        _ = try f.tree.file(Array("clean/up/-n".utf8), contents: Array("clean text".utf8))
        let run = try f.run()
        #expect(run.exitCode == 1, "\(run)")
        let infected = listTree(f.root + "/infected")
        #expect(Array(infected.keys) == [name])
        #expect(infected[name]?.contents == EICAR.bytes)
        #expect(Array(listTree(f.root + "/clean").keys) == [Array("up/-n".utf8)])
        #expect(try f.journal().map(\.path) == ["up/n\\xff\\n -rf \\\\x.com"])
        #expect(RescanPath.unescape(try f.journal()[0].path) == name)
    }

    @Test func sigtermStopsAfterTheFilesInFlightAndTheNextRunResumes() throws {
        let f = try RescanFixture()
        try f.populate("clean", count: 80, minSize: 2000, maxSize: 2001)
        let process = try f.start(["--max-rate", "40k"])
        #expect(waitUntil(20) { ((try? f.state())?.filesDone ?? 0) >= 5 }, "\(f.output())")
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        #expect(process.terminationStatus == 3, "\(f.output())")
        #expect(f.output().contains("rescan-clean: stopped (asked to stop); the next run resumes."), "\(f.output())")
        let stopped = try f.state()
        #expect(!stopped.completed)
        #expect(stopped.trees[0].doneBeyond == [])
        let scannedBefore = try f.auditRecords().count
        #expect(scannedBefore == stopped.filesDone)
        let resumed = try f.run()
        #expect(resumed.exitCode == 0, "\(resumed)")
        // A graceful stop finishes what it started: nothing is scanned twice.
        let records = try f.auditRecords()
        #expect(records.count == 80)
        #expect(Set(records.map(\.path)).count == 80)
        #expect(try f.state().filesDone == 80)
    }

    @Test func aBacklogAppearingMidPassPausesEveryScanningThread() throws {
        let f = try RescanFixture()
        try f.populate("clean", count: 60, minSize: 2000, maxSize: 2001)
        let process = try f.start(["--max-rate", "40k", "--yield-after", "60"])
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        #expect(waitUntil(20) { ((try? f.state())?.filesDone ?? 0) >= 5 }, "\(f.output())")
        try f.tree.file("incoming/late/waiting.pdf", size: 10, mtime: Date().timeIntervalSince1970 - 300)
        #expect(waitUntil(10) { (try? f.state())?.yielding == true }, "\(f.output())")
        usleep(300_000)  // the files being scanned when it started yielding finish
        let settled = try f.auditRecords().count
        let doneWhileYielding = try f.state().filesDone
        usleep(800_000)
        #expect(try f.auditRecords().count == settled)
        #expect(try f.state().filesDone == doneWhileYielding)
        #expect(doneWhileYielding < 60)
        #expect(unlink(f.root + "/incoming/late/waiting.pdf") == 0)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(f.output())")
        #expect(try f.state().filesDone == 60)
        #expect(try f.auditRecords().count == 60)
    }
}
