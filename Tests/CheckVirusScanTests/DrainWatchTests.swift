import Foundation
import ScanCore
import ScanCoreTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `check_virus_scan drain --watch` as a process (real inotify, real libclamav workers, the small
/// generated database): events, new directories, files still being written, the sweeps, lost
/// events, SIGKILL and restart, hostile names, SIGTERM, the heartbeat and the stuck check.
@Suite("drain --watch", .serialized)
struct DrainWatchTests {
    typealias Setup = DrainCommandTests.Setup

    static func arguments(_ setup: Setup, minAge: String = "10", settle: String = "0.3", extra: [String] = []) -> [String] {
        var arguments = setup.arguments()
        if let index = arguments.firstIndex(of: "--min-age") { arguments[index + 1] = minAge }
        return arguments + ["--watch", "--settle", settle, "--sweep-interval", "3600", "--heartbeat-interval", "1"] + extra
    }

    static func statePath(_ setup: Setup) -> String { setup.state + "/watch-incoming.json" }

    static func state(_ setup: Setup) -> WatchState? { try? WatchState.load(path: statePath(setup)) }

    /// Polls `condition` every 50 ms for up to `timeout` seconds.
    @discardableResult
    static func waitFor(_ timeout: Double, _ condition: () -> Bool) -> Bool {
        let end = MonotonicClock.now() + timeout
        while MonotonicClock.now() < end {
            if condition() { return true }
            usleep(50_000)
        }
        return condition()
    }

    /// Starts the watcher and waits until its start sweep is done.
    static func start(_ setup: Setup, minAge: String = "10", extra: [String] = []) throws -> ChildProcess {
        let process = try ChildProcess(Plugin.binary, arguments(setup, minAge: minAge, extra: extra))
        let started = waitFor(60) { (state(setup)?.sweeps ?? 0) >= 1 && state(setup)?.pid == process.pid }
        #expect(started, "watcher did not start: \(process.stdout) \(process.stderr)")
        return process
    }

    /// Stops it with SIGTERM; returns the exit code.
    static func stop(_ process: ChildProcess) -> Int32? {
        process.signal(SIGTERM)
        return process.wait(timeout: 30)
    }

    static func journal(_ setup: Setup) -> [JournalRecord] {
        (try? ScanJournal(path: setup.state + "/journal.jsonl").records(since: 0).records) ?? []
    }

    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    static func randomBytes(_ count: Int, seed: UInt64) -> [UInt8] {
        var random = SplitMix64(seed: seed)
        return (0..<count).map { _ in UInt8(truncatingIfNeeded: random.next() % 250 + 1) }
    }

    @Test("written and closed: clean or infected within seconds, in new directories too; journal source watch")
    func eventsAndNewDirectories() throws {
        let setup = try Setup()
        let process = try Self.start(setup)
        defer { process.stop() }
        // A directory tree and the file in one go (its events may come before the watch: listed).
        let t0 = MonotonicClock.now()
        _ = try setup.tree.file("uploads/incoming/system/uploads/1/a.pdf", contents: Self.randomBytes(30_000, seed: 1))
        _ = try setup.tree.file("uploads/incoming/system/uploads/2/eicar.txt", contents: EICAR.bytes)
        #expect(Self.waitFor(15) { Self.exists(setup.clean + "/system/uploads/1/a.pdf") && Self.exists(setup.infected + "/system/uploads/2/eicar.txt") })
        let first = MonotonicClock.now() - t0
        #expect(first < 8, "took \(first) s")
        // A directory made first, the file written into it later (seen by its own events).
        _ = try setup.tree.directory("uploads/incoming/system/uploads/3/deep/er")
        usleep(500_000)
        let t1 = MonotonicClock.now()
        _ = try setup.tree.file("uploads/incoming/system/uploads/3/deep/er/b.docx", contents: Self.randomBytes(5_000, seed: 2))
        #expect(Self.waitFor(15) { Self.exists(setup.clean + "/system/uploads/3/deep/er/b.docx") })
        #expect(MonotonicClock.now() - t1 < 8)
        #expect(!Self.exists(setup.incoming + "/system/uploads/1/a.pdf"))
        #expect(Self.stop(process) == 0)
        let records = Self.journal(setup)
        #expect(records.map(\.source) == ["watch", "watch", "watch"])
        #expect(Set(records.map(\.verdict)) == ["clean", "infected"])
        let state = try #require(Self.state(setup))
        #expect(state.watchFoundFiles == 3)
        #expect(state.sweepFoundFiles == 0)
        #expect(state.running == false)
        #expect(state.watchedDirectories >= 7)
        #expect(state.lastEvent != nil)
    }

    @Test("a file still being written is not scanned until its writer closed it and it was quiet")
    func stillBeingWritten() throws {
        let setup = try Setup()
        let process = try Self.start(setup)
        defer { process.stop() }
        let bytes = Self.randomBytes(200_000, seed: 3)
        for (index, directory) in ["uploads/incoming/existing", "uploads/incoming/fresh/new"].enumerated() {
            if index == 0 { _ = try setup.tree.directory(directory); usleep(300_000) }
            // The second one: the directory and the open file appear together (found by listing,
            // held back because a writer has it open).
            _ = try setup.tree.directory(directory)
            let path = setup.root + "/" + String(directory.dropFirst("uploads/".count)) + "/slow.pdf"
            let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            try #require(fd >= 0)
            _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, 100_000) }
            usleep(2_000_000)  // quiet, but open: far beyond the settle time
            #expect(Self.exists(path), "scanned while open (\(directory))")
            _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + 100_000, 100_000) }
            usleep(1_000_000)
            #expect(Self.exists(path), "scanned while open (\(directory))")
            close(fd)
            let moved = setup.clean + "/" + String(directory.dropFirst("uploads/incoming/".count)) + "/slow.pdf"
            #expect(Self.waitFor(15) { Self.exists(moved) })
            #expect((try? FileOutput.read(moved)) == bytes)
        }
        #expect(Self.stop(process) == 0)
        #expect(Self.journal(setup).count == 2)
    }

    @Test("files queued before the start (hostile names among them) are swept; journal source watch-sweep")
    func startSweep() throws {
        let setup = try Setup()
        try setup.fill(20)
        let before = setup.hashes(setup.incoming)
        let process = try Self.start(setup)
        #expect(Self.waitFor(30) { setup.hashes(setup.incoming).isEmpty })
        #expect(Self.stop(process) == 0)
        DrainCommandTests.expectInvariant(setup, before: before, allowQueued: false)
        let records = Self.journal(setup)
        #expect(records.count == 20)
        #expect(Set(records.map(\.source)) == ["watch-sweep"])
        let state = try #require(Self.state(setup))
        #expect(state.sweepFoundFiles == 20)
        #expect(state.watchFoundFiles == 0)
        #expect(state.sweeps == 1)
    }

    @Test("lost events (a simulated overflow) are caught by the sweep that follows, which counts them")
    func overflowSweep() throws {
        let setup = try Setup()
        let process = try Self.start(setup, minAge: "0", extra: ["--drop-events", "1"])
        defer { process.stop() }
        let bytes = Self.randomBytes(10_000, seed: 4)
        _ = try setup.tree.file("staging/lost.pdf", contents: bytes)
        #expect(rename(setup.tree.path("staging/lost.pdf"), setup.incoming + "/lost.pdf") == 0)  // one event: dropped
        #expect(Self.waitFor(15) { Self.exists(setup.clean + "/lost.pdf") })
        _ = try setup.tree.file("uploads/incoming/seen.pdf", contents: bytes + [1])
        #expect(Self.waitFor(15) { Self.exists(setup.clean + "/seen.pdf") })
        #expect(Self.stop(process) == 0)
        let records = Self.journal(setup)
        #expect(records.map { "\($0.path) \($0.source)" } == ["lost.pdf watch-sweep", "seen.pdf watch"])
        let state = try #require(Self.state(setup))
        #expect(state.overflows == 1)
        #expect(state.sweeps == 2)
        #expect(state.sweepFoundFiles == 1)
        #expect(state.watchFoundFiles == 1)
    }

    @Test("names with newlines, non-UTF-8 bytes and leading dashes, seen by their events")
    func hostileNames() throws {
        let setup = try Setup()
        let process = try Self.start(setup)
        defer { process.stop() }
        let names: [[UInt8]] = [Array("-rf".utf8), Array("new\nline.pdf".utf8), [0xFF, 0xFE, 0x2E, 0x70], Array("--help".utf8) + [0x80]]
        for (index, name) in names.enumerated() {
            _ = try setup.tree.file(Array("uploads/incoming/-d\n\(index)/".utf8) + name, contents: Self.randomBytes(1000 + index, seed: UInt64(index)))
        }
        func inClean(_ index: Int, _ name: [UInt8]) -> Bool {
            var info = stat()
            let path = Array((setup.clean + "/-d\n\(index)/").utf8) + name + [0]
            return path.withUnsafeBufferPointer { $0.baseAddress!.withMemoryRebound(to: CChar.self, capacity: path.count) { lstat($0, &info) } } == 0
        }
        #expect(Self.waitFor(15) { names.enumerated().allSatisfy { inClean($0.offset, $0.element) } })
        #expect(setup.hashes(setup.incoming).isEmpty)
        for (index, name) in names.enumerated() {
            #expect(inClean(index, name), "\(PathEscaping.display(name)) not in clean")
        }
        #expect(Self.stop(process) == 0)
        #expect(Self.journal(setup).count == names.count)
    }

    @Test("SIGKILL at random instants while files arrive, then a restart: every file in exactly one tree, identical bytes")
    func killAndRestart() throws {
        let setup = try Setup()
        try setup.fill(30)
        var before = setup.hashes(setup.incoming)
        var random = SplitMix64(seed: 99)
        for round in 0..<4 {
            let process = try ChildProcess(Plugin.binary, Self.arguments(setup, extra: []))
            for i in 0..<8 {
                let name = "round\(round)/\(i % 3)/doc \(i).bin"
                let bytes = i % 4 == 1 ? EICAR.bytes + Array("\(round) \(i)".utf8) : Self.randomBytes(20_000 + i, seed: UInt64(round * 100 + i))
                _ = try setup.tree.file("uploads/incoming/" + name, contents: bytes)
                if i % 4 == 1 { setup.infectedNames.insert(name) }
                before[name] = SHA256.hex(bytes)
                usleep(UInt32(random.next() % 150_000))
            }
            usleep(UInt32(random.next() % 1_000_000))
            kill(process.pid, SIGKILL)
            process.waitUntilExit()
            let mid = setup.trees()
            for (path, digest) in before {
                #expect(["incoming", "clean", "infected"].contains { mid[$0]?[path] == digest }, "round \(round): \(path) lost")
            }
        }
        let process = try Self.start(setup)
        #expect(Self.waitFor(60) { setup.hashes(setup.incoming).isEmpty })
        #expect(Self.stop(process) == 0)
        DrainCommandTests.expectInvariant(setup, before: before, allowQueued: false)
        #expect(setup.temporaries().isEmpty)
    }

    @Test("SIGTERM: no new file is started, the ones in hand finish, exit 0, the state says stopped")
    func sigtermFinishesFileInHand() throws {
        let setup = try Setup()
        let big = Self.randomBytes(100_000, seed: 5)
        for i in 0..<150 {
            _ = try setup.tree.file("uploads/incoming/big/\(i).bin", contents: Array("\(i)".utf8) + big, mtime: WallClock.now() - 600)
        }
        let before = setup.hashes(setup.incoming)
        let process = try ChildProcess(Plugin.binary, Self.arguments(setup))
        #expect(Self.waitFor(60) { !Self.journal(setup).isEmpty })
        process.signal(SIGTERM)
        let code = process.wait(timeout: 30)
        #expect(code == 0, "\(process.stderr)")
        DrainCommandTests.expectInvariant(setup, before: before, allowQueued: true)
        // Every file that was started was finished: moved with a journal record; none left with an error.
        let records = Self.journal(setup)
        let moved = setup.hashes(setup.clean).count + setup.hashes(setup.infected).count
        #expect(records.count == moved)
        #expect(records.allSatisfy { $0.action == "moved" })
        #expect(moved < 150, "stopped only after the whole sweep")
        #expect(Self.state(setup)?.running == false)
        #expect(!process.stdout.contains("left in the queue"))
    }

    @Test("stuck: CRITICAL when a running watcher's heartbeat is stale, OK when fresh or cleanly stopped")
    func stuckSeesStaleHeartbeat() throws {
        let setup = try Setup()
        try FileManager.default.createDirectory(atPath: setup.state, withIntermediateDirectories: true)
        let now = WallClock.now()
        var state = WatchState(queue: "incoming", pid: 4242, started: now - 3600, heartbeat: now - 600, heartbeatInterval: 10)
        try state.write(path: Self.statePath(setup))
        let common = ["--root", setup.root, "--queue", "incoming", "--state-dir", setup.state]
        let stale = try Plugin.run(["stuck"] + common)
        #expect(stale.exitCode == 2, "\(stale)")
        #expect(stale.statusLine.hasPrefix("VIRUS_SCAN CRITICAL - incoming watcher silent: drain --watch (pid 4242) wrote no heartbeat for 10m"), "\(stale)")
        state.heartbeat = now - 2
        try state.write(path: Self.statePath(setup))
        let fresh = try Plugin.run(["stuck"] + common)
        #expect(fresh.exitCode == 0, "\(fresh)")
        #expect(fresh.perf("incoming_watch_heartbeat_age") != nil)
        state.heartbeat = now - 600
        state.running = false
        try state.write(path: Self.statePath(setup))
        let stopped = try Plugin.run(["stuck", "-v"] + common)
        #expect(stopped.exitCode == 0, "\(stopped)")
    }

    @Test("bad combinations are usage errors")
    func usage() throws {
        let setup = try Setup()
        var twoQueues = Self.arguments(setup)
        twoQueues.removeAll { $0 == "--lock" || $0 == setup.lock }
        if let index = twoQueues.firstIndex(of: "--queue") { twoQueues.removeSubrange(index...index + 1) }
        #expect(try Plugin.run(twoQueues).exitCode == 64)
        #expect(try Plugin.run(Self.arguments(setup, extra: ["--dry-run"])).exitCode == 64)
    }
}
