import Foundation
import ScanCore
import ScanCoreTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// scan, db-info, clamd-status, restart-clamd, ignore-signature, and drain through clamd, as
/// processes against a real clamd (started per test) and real libclamav.
@Suite("remediation commands", .serialized)
struct RemediationCommandTests {
    static func startClamd(tcp: Bool = false, daily: Int? = nil) throws -> ClamdProcess {
        try ClamdProcess(ClamdProcess.Configuration(maxThreads: 2, tcp: tcp)) { directory in
            try SignatureFixtures.writeSmall(to: directory)
            if let daily { try UnsignedDailyDatabase.write(to: directory, version: daily, buildTime: 1_764_000_000) }
        }
    }

    /// A tree: a clean file, EICAR+tail (body signature only), a symlink, a FIFO.
    static func sampleTree() throws -> TemporaryTree {
        let tree = try TemporaryTree(prefix: "scn")
        try tree.file("t/clean file.txt", contents: Array("hello\n".utf8))
        try tree.file("t/sub/-eicar.com", contents: EICAR.bytes + Array("tail\n".utf8))
        try tree.symlink("t/link", to: tree.path("t/sub/-eicar.com"))
        try tree.fifo("t/pipe")
        try SignatureFixtures.writeSmall(to: tree.path("db"))
        return tree
    }

    /// The libclamav engine scans in worker processes forked from the command. Killing the
    /// command (SIGKILL: no cleanup runs) must not leave them behind: each exits at end of file
    /// on its socket once it has finished the file in hand.
    @Test("SIGKILL of scan --engine libclamav: its scanning processes exit")
    func scanWorkersExitWithTheCommand() throws {
        let tree = try TemporaryTree(prefix: "scw")
        try SignatureFixtures.writeSmall(to: tree.path("db"))
        var random = SplitMix64(seed: 11)
        for index in 0..<1500 {
            let bytes = (0..<20_000).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            try tree.file("t/\(index / 100)/file \(index).bin", contents: bytes)
        }
        let process = try ChildProcess(
            Plugin.binary, ["scan", "--engine", "libclamav", "--jobs", "2", "--database-dir", tree.path("db"), tree.path("t")])
        defer { process.stop(grace: 0) }
        var workers: [pid_t] = []
        for _ in 0..<10_000 where workers.count < 2 && process.isRunning {
            workers = ProcessStatus.children(of: process.pid).filter { ProcessStatus.name($0) == "scan-worker" }
            usleep(1_000)
        }
        try #require(workers.count == 2, "the command's scanning processes were not seen (\(process.isRunning ? "running" : "exited"))")
        kill(process.pid, SIGKILL)
        process.waitUntilExit()
        #expect(process.terminationSignal == SIGKILL)
        // Gone, or a zombie waiting for whoever inherited it to reap it: either way, exited.
        var left = workers
        for _ in 0..<6000 where !left.isEmpty {
            left = left.filter { pid in ProcessStatus(pid).map { $0.state != "Z" } ?? false }
            usleep(5_000)
        }
        #expect(left == [], "scanning processes still running after the command was killed")
    }

    @Test("scan with libclamav and with clamd: clamdscan lines, summary, exit 1 on a virus, 0 clean, 2 on errors",
          arguments: ["libclamav", "clamd"])
    func scan(engine: String) throws {
        let tree = try Self.sampleTree()
        let clamd = engine == "clamd" ? try Self.startClamd() : nil
        defer { clamd?.stop() }
        let engineArguments = ["--engine", engine, "--database-dir", tree.path("db")] + (clamd.map { ["--socket", $0.socketPath] } ?? [])
        let run = try Plugin.run(["scan"] + engineArguments + [tree.path("t")])
        #expect(run.exitCode == 1, "\(run)")
        #expect(Array(run.lines.prefix(2)) == [
            tree.path("t") + "/clean file.txt: OK",
            tree.path("t") + "/sub/-eicar.com: Eicar-Test-Signature.UNOFFICIAL FOUND",
        ])
        #expect(run.lines.contains("----------- SCAN SUMMARY -----------"))
        #expect(run.lines.contains("Scanned files: 2"))
        #expect(run.lines.contains("Infected files: 1"))
        #expect(run.lines.contains("Total errors: 0"))
        #expect(run.lines.contains { $0.hasPrefix("Engine: \(engine == "clamd" ? "clamd at unix:" : "libclamav ")") })
        let clean = try Plugin.run(["scan", "--no-summary"] + engineArguments + [tree.path("t/clean file.txt")])
        #expect(clean.exitCode == 0)
        #expect(clean.stdout == tree.path("t/clean file.txt") + ": OK\n")
        let missing = try Plugin.run(["scan", "--no-summary"] + engineArguments + [tree.path("nope")])
        #expect(missing.exitCode == 2)
        #expect(missing.stdout == tree.path("nope") + ": cannot open: No such file or directory (errno 2) ERROR\n")
    }

    @Test("drain through a real clamd (FILDES on the unix socket)")
    func drainWithClamd() throws {
        let clamd = try Self.startClamd()
        defer { clamd.stop() }
        let setup = try DrainCommandTests.Setup()
        try setup.fill(30)
        let before = setup.hashes(setup.incoming)
        let arguments = setup.arguments().map { $0 == "libclamav" ? "clamd" : $0 } + ["--socket", clamd.socketPath]
        let run = try Plugin.run(arguments)
        #expect(run.exitCode == 0, "\(run)")
        #expect(run.lines.contains { $0.hasPrefix("drain incoming (clamd): 30 scanned, 27 clean, 3 infected, 0 errors, 30 moved,") })
        DrainCommandTests.expectInvariant(setup, before: before, allowQueued: false)
        let journal = try ScanJournal(path: setup.state + "/journal.jsonl").records(since: 0).records
        #expect(journal.count == 30 && journal.allSatisfy { $0.engine == "clamd" })
    }

    /// clamd with MaxFileSize 5M and its default AlertExceedsMax no answers OK for a 10 MB file
    /// beginning with EICAR (it never scanned it): drain reads clamd.conf and keeps it queued.
    @Test("drain keeps files over clamd's MaxFileSize queued (AlertExceedsMax no)")
    func drainKeepsFilesOverClamdsLimit() throws {
        let clamd = try ClamdProcess(ClamdProcess.Configuration(maxThreads: 2, extraLines: ["MaxFileSize 5M"])) { directory in
            try SignatureFixtures.writeSmall(to: directory)
        }
        defer { clamd.stop() }
        let big = EICAR.bytes + [UInt8](repeating: 0x0A, count: 10 << 20)
        // What clamd itself says of it: clean, unscanned.
        #expect(try clamd.client().scanInstream(bytes: Array(big.prefix(6 << 20))) == .clean)
        let setup = try DrainCommandTests.Setup()
        try setup.tree.file("uploads/incoming/big/eicar-10M.bin", contents: big, mtime: WallClock.now() - 600)
        try setup.tree.file("uploads/incoming/small-eicar.com", contents: EICAR.bytes, mtime: WallClock.now() - 600)
        try setup.tree.file("uploads/incoming/fine.txt", contents: Array("hello\n".utf8), mtime: WallClock.now() - 600)
        let arguments = setup.arguments(clamdConfig: clamd.configurationPath).map { $0 == "libclamav" ? "clamd" : $0 } + ["--socket", clamd.socketPath]
        let run = try Plugin.run(arguments)
        #expect(run.exitCode == 1, "\(run)")
        #expect(run.lines.contains("\(setup.incoming)/big/eicar-10M.bin: left in the queue: over clamd's limit (\(big.count) > 5242880 bytes; with AlertExceedsMax no clamd would call it clean unscanned)"), "\(run)")
        #expect(run.lines.contains { $0.hasPrefix("drain incoming (clamd): 3 scanned, 1 clean, 1 infected, 1 errors, 2 moved, 0 duplicates dropped, 1 left queued,") }, "\(run)")
        #expect(FileManager.default.fileExists(atPath: setup.incoming + "/big/eicar-10M.bin"))
        #expect(!FileManager.default.fileExists(atPath: setup.clean + "/big/eicar-10M.bin"))
        #expect(FileManager.default.fileExists(atPath: setup.infected + "/small-eicar.com"))
        #expect(FileManager.default.fileExists(atPath: setup.clean + "/fine.txt"))
        let lists = (try? FileManager.default.contentsOfDirectory(atPath: setup.lists)) ?? []
        let listed = lists.map { (try? String(contentsOfFile: setup.lists + "/" + $0, encoding: .utf8)) ?? "" }.joined()
        #expect(!listed.contains("eicar-10M.bin"), "never listed for copying to the slaves")

        // With AlertExceedsMax yes clamd flags what it cannot scan itself: drain lets it decide.
        let alerting = try TemporaryTree(prefix: "cae")
        let yes = try alerting.file("clamd.conf", contents: Array("MaxFileSize 5M\nAlertExceedsMax yes\n".utf8))
        let trusting = try Plugin.run(setup.arguments(["-v"], clamdConfig: yes).map { $0 == "libclamav" ? "clamd" : $0 } + ["--socket", clamd.socketPath])
        #expect(trusting.lines.contains("over clamd's limit (kept queued): none"), "\(trusting)")
        // A named file that is missing is an error, not clamd's defaults.
        let missing = try Plugin.run(setup.arguments(clamdConfig: alerting.root + "/nope.conf").map { $0 == "libclamav" ? "clamd" : $0 } + ["--socket", clamd.socketPath])
        #expect(missing.exitCode == 2, "\(missing)")
        #expect(missing.stderr.contains("drain: cannot read clamd's configuration \(alerting.root)/nope.conf: No such file or directory"), "\(missing)")
    }

    @Test("several clamd over TCP: one dies mid-drain, its files are retried on the other")
    func tcpFailover() throws {
        let first = try Self.startClamd(tcp: true)
        let second = try Self.startClamd(tcp: true)
        defer { first.stop(); second.stop() }
        let scanner = ClamdScanner(endpoints: [try #require(first.tcpEndpoint), try #require(second.tcpEndpoint)])
        let tree = try TemporaryTree(prefix: "tcp")
        var verdicts: [ScanVerdict] = []
        for i in 0..<40 {
            if i == 15 { first.stop() }  // the daemon goes away with sessions open
            let infected = i % 4 == 0
            let path = try tree.file("f\(i)", contents: infected ? EICAR.bytes + Array("\(i)".utf8) : Array("clean \(i)\n".utf8))
            let fd = open(path, O_RDONLY)
            verdicts.append(scanner.scan(fileDescriptor: fd, name: path))
            close(fd)
        }
        for (i, verdict) in verdicts.enumerated() {
            #expect(verdict == (i % 4 == 0 ? .infected(signature: SignatureFixtures.reportedEicar) : .clean), "file \(i)")
        }
        #expect(scanner.downEndpoints.map(\.endpoint) == [try #require(first.tcpEndpoint)])
        // Both gone: an error, never clean.
        second.stop()
        let path = try tree.file("last", contents: Array("x".utf8))
        let fd = open(path, O_RDONLY)
        defer { close(fd) }
        guard case .error(let message) = scanner.scan(fileDescriptor: fd, name: path) else { Issue.record("not an error"); return }
        #expect(message.hasPrefix("no clamd could scan it: "))
    }

    @Test("clamd-status: ping, version and STATS table; exit 2 when clamd does not answer")
    func clamdStatus() throws {
        let clamd = try Self.startClamd(daily: 27000)
        defer { clamd.stop() }
        let run = try Plugin.run(["clamd-status", "--socket", clamd.socketPath])
        #expect(run.exitCode == 0, "\(run)")
        #expect(run.lines.first == "clamd at unix:\(clamd.socketPath)")
        #expect(run.line(1).hasPrefix("  PING:      PONG in "))
        #expect(run.line(2).hasPrefix("  Version:   ClamAV ") && run.line(2).contains("/27000/"))
        #expect(run.lines.contains { $0.hasPrefix("  Threads:   live ") && $0.contains(", max 2, idle timeout ") })
        #expect(run.lines.contains { $0.hasPrefix("  State:     VALID PRIMARY") })
        let down = try Plugin.run(["clamd-status", "--socket", clamd.directory + "/none.sock"])
        #expect(down.exitCode == 2)
        #expect(down.line(1).hasPrefix("  PING:      no answer: "))
    }

    @Test("db-info: headers like sigtool --info, ignore list, clamd's version; exit 1 and a loud line when clamd lags the disk")
    func dbInfo() throws {
        let clamd = try Self.startClamd(daily: 27000)
        defer { clamd.stop() }
        let database = clamd.directory + "/db"
        try FileOutput.write("# local false positives\nSome.FP-1\n", to: database + "/whitelist.ign2")
        let run = try Plugin.run(["db-info", "--database-dir", database, "--socket", clamd.socketPath])
        #expect(run.exitCode == 0, "\(run)")
        #expect(run.lines.contains("daily.cud"))
        #expect(run.lines.contains("  Version: 27000"))
        #expect(run.lines.contains("  Signatures: 1"))
        #expect(run.lines.contains("  Builder: \(try #require(try SignatureDatabaseInventory.read(directory: database).daily).header.builder)"))
        #expect(run.lines.contains { $0.hasPrefix("  Build time: ") && $0.contains(" (age ") })
        #expect(run.lines.contains { $0.hasPrefix("  Functionality level: ") })
        #expect(run.lines.contains("  test.ndb: 2 signatures"))
        #expect(run.lines.contains("  Some.FP-1 (whitelist.ign2)"))
        #expect(run.lines.contains { $0.hasPrefix("clamd loaded: ClamAV ") && $0.contains("/27000/") })
        #expect(!run.stdout.contains("!!!"))
        // freshclam brings a newer daily; clamd has not reloaded.
        try UnsignedDailyDatabase.write(to: database, version: 27001, buildTime: 1_764_100_000)
        let lagging = try Plugin.run(["db-info", "--database-dir", database, "--socket", clamd.socketPath])
        #expect(lagging.exitCode == 1, "\(lagging)")
        #expect(lagging.lines.contains("!!! clamd has daily 27000 loaded but daily 27001 is on disk: reload it (restart-clamd, or clamdscan --reload)"))
        let missing = try Plugin.run(["db-info", "--database-dir", clamd.directory + "/nope", "--no-clamd"])
        #expect(missing.exitCode == 2)
    }

    /// Without the lock two runs at once read the same list and the second rename drops the
    /// first one's entry (both still printed "added … clamd reloaded").
    @Test("12 concurrent ignore-signature runs against a real clamd leave 12 entries, each verified")
    func concurrentIgnoreSignature() throws {
        let clamd = try Self.startClamd()
        defer { clamd.stop() }
        let database = clamd.directory + "/db"
        let list = database + "/whitelist.ign2"
        try FileOutput.write("# hand-made\nOther.Sig-1\n", to: list)
        let names = (0..<12).map { "Concurrent.Test-\($0)" }
        let runs = try names.map { name in
            try ChildProcess(Plugin.binary, ["ignore-signature", name, "--reason", "concurrency test", "--database-dir", database,
                                             "--socket", clamd.socketPath])
        }
        for run in runs { run.waitUntilExit(limit: 300) }
        for (name, run) in zip(names, runs) {
            #expect(run.exitCode == 0, "\(name): \(run.stdout)\(run.stderr)")
            #expect(run.stdout.contains("added \(name) to \(list) ("), "\(name): \(run.stdout)")
            #expect(run.stdout.contains("clamd reloaded; PONG after "), "\(name): \(run.stdout)")
        }
        let entries = try IgnoreListFile.read(list).signatures
        #expect(entries.count == 13, "\(entries)")
        #expect(Set(entries) == Set(names + ["Other.Sig-1"]))
        #expect(try String(contentsOfFile: list, encoding: .utf8).hasPrefix("# hand-made\nOther.Sig-1\n"))
        #expect(FileManager.default.fileExists(atPath: list + ".lock"))
        _ = try clamd.client().ping()
    }

    @Test("ignore-signature: atomic edit keeping other lines, RELOAD verified, EICAR then scans clean through clamd")
    func ignoreSignature() throws {
        let clamd = try Self.startClamd()
        defer { clamd.stop() }
        let database = clamd.directory + "/db"
        let list = database + "/whitelist.ign2"
        try FileOutput.write("# hand-made\nOther.Sig-1\nThird.Sig-2\n", to: list)
        let sample = try TemporaryTree(prefix: "ign")
        let eicar = try sample.file("eicar.com", contents: EICAR.bytes + Array("tail\n".utf8))
        let client = clamd.client()
        #expect(try client.scanFildes(path: eicar) == .infected(signature: SignatureFixtures.reportedEicar))

        let bad = try Plugin.run(["ignore-signature", "bad name;x", "--database-dir", database, "--socket", clamd.socketPath])
        #expect(bad.exitCode == 2)
        #expect(bad.stderr.hasPrefix("ignore-signature: invalid signature name"))
        #expect(String(decoding: try FileOutput.read(list), as: UTF8.self) == "# hand-made\nOther.Sig-1\nThird.Sig-2\n")

        let run = try Plugin.run(["ignore-signature", SignatureFixtures.reportedEicar, "--reason", "test false positive",
                                  "--database-dir", database, "--socket", clamd.socketPath])
        #expect(run.exitCode == 0, "\(run)")
        #expect(run.lines.first == "added Eicar-Test-Signature to \(list) (3 entries)")
        #expect(run.line(1).hasPrefix("clamd reloaded; PONG after "))
        #expect(String(decoding: try FileOutput.read(list), as: UTF8.self)
                == "# hand-made\nOther.Sig-1\nThird.Sig-2\nEicar-Test-Signature\n")
        // clamd reloads in the background and swaps engines when done: poll.
        #expect(Self.eventually { (try? client.scanFildes(path: eicar)) == .clean })
        #expect(try FileOutput.list(database).filter { $0.hasPrefix(".") }.isEmpty)

        let again = try Plugin.run(["ignore-signature", "Eicar-Test-Signature", "--database-dir", database, "--socket", clamd.socketPath])
        #expect(again.exitCode == 0)
        #expect(again.stdout == "Eicar-Test-Signature is already in \(list): nothing to change\n")

        let listed = try Plugin.run(["ignore-signature", "--list", "--database-dir", database])
        #expect(listed.stdout == "\(list): 3 ignored signatures\n  Other.Sig-1\n  Third.Sig-2\n  Eicar-Test-Signature\n")

        let removed = try Plugin.run(["ignore-signature", "--remove", "Eicar-Test-Signature", "--database-dir", database, "--socket", clamd.socketPath])
        #expect(removed.exitCode == 0, "\(removed)")
        #expect(String(decoding: try FileOutput.read(list), as: UTF8.self) == "# hand-made\nOther.Sig-1\nThird.Sig-2\n")
        #expect(Self.eventually { (try? client.scanFildes(path: eicar)) == .infected(signature: SignatureFixtures.reportedEicar) })
    }

    /// Polls `condition` every 100 ms for up to `seconds`.
    static func eventually(_ seconds: Double = 60, _ condition: () -> Bool) -> Bool {
        let deadline = MonotonicClock.now() + seconds
        while MonotonicClock.now() < deadline {
            if condition() { return true }
            usleep(100_000)
        }
        return condition()
    }

    @Test("restart-clamd: runs the command, waits for PONG, reports the version; exit 2 when clamd is not back")
    func restartClamd() throws {
        let clamd = try Self.startClamd(daily: 27010)
        var newPid: Int32?
        defer {
            if let newPid { kill(newPid, SIGTERM); usleep(300_000) }
            clamd.stop()
        }
        let command = "kill \(clamd.pid); for i in $(seq 100); do [ -S \(clamd.socketPath) ] || break; sleep 0.1; done; "
            + "/usr/sbin/clamd --config-file=\(clamd.directory)/clamd.conf >/dev/null 2>&1 &"
        let dry = try Plugin.run(["restart-clamd", "--dry-run", "--command", command, "--socket", clamd.socketPath])
        #expect(dry.exitCode == 0)
        #expect(dry.line(0) == "plan:")
        #expect(dry.line(1).hasPrefix("  /bin/sh -c 'kill \(clamd.pid);"))
        #expect(kill(clamd.pid, 0) == 0)
        // Run through PlannedCommand (output to a file, not a pipe: the restarted daemon is our grandchild).
        let outcome = try PlannedCommand(executable: Plugin.binary,
                                         arguments: ["restart-clamd", "--command", command, "--deadline", "60", "--socket", clamd.socketPath],
                                         effect: "test").run()
        let run = Plugin.Run(stdout: outcome.output, stderr: "", exitCode: outcome.exitStatus, seconds: outcome.seconds)
        newPid = Int32(String(decoding: (try? FileOutput.read(clamd.directory + "/clamd.pid")) ?? [], as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(run.exitCode == 0, "\(run)")
        #expect(newPid != nil && newPid != clamd.pid)
        #expect(run.lines.contains { $0.hasPrefix("clamd is back: PONG after ") })
        #expect(run.lines.contains { $0.hasPrefix("loaded: ClamAV ") && $0.contains("/27010/") })
        let notBackOutcome = try PlannedCommand(executable: Plugin.binary,
                                                arguments: ["restart-clamd", "--command", "true", "--deadline", "1", "--socket", clamd.directory + "/none.sock"],
                                                effect: "test").run()
        let notBack = Plugin.Run(stdout: notBackOutcome.output, stderr: "", exitCode: notBackOutcome.exitStatus, seconds: 0)
        #expect(notBack.exitCode == 2)
        #expect(notBack.lines.contains { $0.hasPrefix("clamd did not answer PING within 1.0 s (last error: ") })
    }
}
