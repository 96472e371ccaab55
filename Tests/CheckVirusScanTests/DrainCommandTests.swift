import Foundation
import ScanCore
import ScanCoreTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `check_virus_scan drain` as a process: exit codes, the lock, concurrent runs, SIGKILL at random
/// instants. Real libclamav with the small generated database; real clamd where said.
@Suite("drain command", .serialized)
struct DrainCommandTests {
    /// A standard layout under a temp root, with the small database, a lock, list and state dirs.
    final class Setup: @unchecked Sendable {
        let tree: TemporaryTree
        var root: String { tree.root + "/uploads" }
        var incoming: String { root + "/incoming" }
        var clean: String { root + "/clean" }
        var infected: String { root + "/infected" }
        var lock: String { tree.root + "/run/incoming.lock" }
        var database: String { tree.root + "/db" }
        var lists: String { tree.root + "/lists/attachments" }
        var state: String { tree.root + "/state" }
        var infectedNames: Set<String> = []

        init() throws {
            tree = try TemporaryTree(prefix: "drc")
            for directory in ["uploads/incoming", "uploads/clean", "uploads/infected", "run"] { try tree.directory(directory) }
            try SignatureFixtures.writeSmall(to: database)
        }

        /// Never the real /etc/clamav/clamd.conf: `clamdConfig` is `none` unless a test gives one.
        func arguments(_ extra: [String] = [], lock: String? = nil, clamdConfig: String = "none") -> [String] {
            ["drain", "--root", root, "--queue", "incoming", "--lock", lock ?? self.lock, "--list-dir", lists,
             "--state-dir", state, "--engine", "libclamav", "--database-dir", database, "--min-age", "0", "--jobs", "2",
             "--clamd-config", clamdConfig] + extra
        }

        /// `count` files in nested directories, every 10th infected; hostile names among them.
        func fill(_ count: Int, seed: UInt64 = 7) throws {
            var random = SplitMix64(seed: seed)
            let odd = ["a b", "-dash", "ü nïcode", "tab\there", "new\nline"]
            for i in 0..<count {
                let directory = "system/uploads/attachment_data/file/\(i / 7)/\(odd[i % odd.count])"
                let name = "\(directory)/doc \(i).bin"
                if i % 10 == 3 {
                    try tree.file("uploads/incoming/" + name, contents: EICAR.bytes + Array("\(i)\n".utf8), mtime: WallClock.now() - 600)
                    infectedNames.insert(name)
                } else {
                    let size = Int(random.next() % 40_000) + 1
                    let bytes = (0..<size).map { _ in UInt8(truncatingIfNeeded: random.next() % 250 + 1) }
                    try tree.file("uploads/incoming/" + name, contents: bytes, mtime: WallClock.now() - 600)
                }
            }
        }

        /// relative path → SHA-256 for each tree.
        func trees() -> [String: [String: String]] {
            ["incoming": hashes(incoming), "clean": hashes(clean), "infected": hashes(infected)]
        }

        func hashes(_ root: String) -> [String: String] { SHA256.treeHashes(root) }

        /// Files anywhere under the tree whose names mark them as temp files.
        func temporaries() -> [String] {
            var found: [String] = []
            for base in [root, tree.root + "/lists"] {
                guard let enumerator = FileManager.default.enumerator(atPath: base) else { continue }
                while let relative = enumerator.nextObject() as? String {
                    let name = (relative as NSString).lastPathComponent
                    if name.hasPrefix(".virus_scan-") { found.append(base + "/" + relative) }
                }
            }
            return found
        }
    }

    /// The invariant, after a run: every queued file in exactly one tree with identical bytes,
    /// infected content never in clean, clean content never in infected.
    static func expectInvariant(_ setup: Setup, before: [String: String], allowQueued: Bool,
                                sourceLocation: SourceLocation = #_sourceLocation) {
        let after = setup.trees()
        for (path, digest) in before {
            let places = ["incoming", "clean", "infected"].filter { after[$0]?[path] == digest }
            #expect(places.count == 1, "\(path) in \(places)", sourceLocation: sourceLocation)
            if setup.infectedNames.contains(path) {
                #expect(!places.contains("clean"), "\(path) infected but in clean", sourceLocation: sourceLocation)
            } else {
                #expect(!places.contains("infected"), "\(path) clean but in infected", sourceLocation: sourceLocation)
            }
            if !allowQueued { #expect(places != ["incoming"], "\(path) still queued", sourceLocation: sourceLocation) }
        }
        // Nothing appeared that was not queued.
        for tree in ["clean", "infected"] {
            for path in after[tree]!.keys { #expect(before[path] != nil, "unexpected \(tree)/\(path)", sourceLocation: sourceLocation) }
        }
    }

    @Test("drain: exit 0, infected listed, summary; second run finds nothing")
    func drainsQueue() throws {
        let setup = try Setup()
        try setup.fill(20)
        let before = setup.hashes(setup.incoming)
        let run = try Plugin.run(setup.arguments())
        #expect(run.exitCode == 0, "\(run)")
        Self.expectInvariant(setup, before: before, allowQueued: false)
        let infectedLines = run.lines.filter { $0.contains(" Eicar-Test-Signature.UNOFFICIAL FOUND; moved to infected (") }
        #expect(infectedLines.count == 2)
        #expect(run.lines.contains { $0.hasPrefix("drain incoming (libclamav): 20 scanned, 18 clean, 2 infected, 0 errors, 20 moved, 0 duplicates dropped, 0 left queued, 0 too new, 0 not regular files in ") })
        // The newline name is moved but reported as not listable.
        #expect(run.lines.filter { $0.hasSuffix("contains a newline, which a list file cannot carry: not listed for copying") }.count == 4)
        let again = try Plugin.run(setup.arguments())
        #expect(again.exitCode == 0, "\(again)")
        #expect(again.lines.contains { $0.hasPrefix("drain incoming (libclamav): 0 scanned,") })
        let journal = try ScanJournal(path: setup.state + "/journal.jsonl").records(since: 0).records
        #expect(journal.count == 20)
    }

    /// uid, gid and permission bits of `path` (lstat).
    static func ownership(_ path: String) -> (uid: uid_t, gid: gid_t, mode: mode_t)? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        return (info.st_uid, info.st_gid, info.st_mode & 0o7777)
    }

    static func same(_ a: (uid: uid_t, gid: gid_t, mode: mode_t)?, _ b: (uid_t, gid_t, mode_t)) -> Bool {
        guard let a else { return false }
        return a.uid == b.0 && a.gid == b.1 && a.mode == b.2
    }

    @Test("--owner (as root): moved files and created directories get it, file modes kept, directories 0775; without it the file keeps its owner and new directories take their parent's",
          .enabled(if: geteuid() == 0, "chown needs root"), arguments: [false, true])
    func ownerAndModes(crossDevice: Bool) throws {
        guard let nobody = getpwnam("nobody"), let nogroup = getgrnam("nogroup") else {
            Issue.record("no user nobody or group nogroup on this machine")
            return
        }
        let (uid, gid) = (nobody.pointee.pw_uid, nogroup.pointee.gr_gid)
        let extra = crossDevice ? ["--simulate-cross-device"] : []
        for withOwner in [true, false] {
            let setup = try Setup()
            // The clean tree's top belongs to someone else, as the original's assets:assets did.
            #expect(chown(setup.clean, 1234, 1235) == 0 && chown(setup.infected, 1234, 1235) == 0)
            let clean = try setup.tree.file("uploads/incoming/a/b/report 1.txt", contents: Array("quarterly figures\n".utf8),
                                            mtime: WallClock.now() - 600)
            let virus = try setup.tree.file("uploads/incoming/a/eicar.com", contents: EICAR.bytes, mtime: WallClock.now() - 600)
            for path in [clean, virus] { #expect(chown(path, 1000, 1001) == 0 && chmod(path, 0o640) == 0) }
            let run = try Plugin.run(setup.arguments(extra + (withOwner ? ["--owner", "nobody:nogroup"] : [])))
            #expect(run.exitCode == 0, "\(run)")
            let file = withOwner ? (uid, gid, mode_t(0o640)) : (uid_t(1000), gid_t(1001), mode_t(0o640))
            let directory = withOwner ? (uid, gid, mode_t(0o775)) : (uid_t(1234), gid_t(1235), mode_t(0o775))
            let label = "\(withOwner ? "--owner" : "no --owner")\(crossDevice ? ", across filesystems" : "")"
            #expect(Self.same(Self.ownership(setup.clean + "/a/b/report 1.txt"), file), "\(label): file")
            #expect(Self.same(Self.ownership(setup.infected + "/a/eicar.com"), file), "\(label): infected file")
            #expect(Self.same(Self.ownership(setup.clean + "/a"), directory), "\(label): clean/a")
            #expect(Self.same(Self.ownership(setup.clean + "/a/b"), directory), "\(label): clean/a/b")
            #expect(Self.same(Self.ownership(setup.infected + "/a"), directory), "\(label): infected/a")
            // The trees' tops are left as they were.
            #expect(Self.same(Self.ownership(setup.clean), (1234, 1235, 0o755)), "\(label): clean")
        }
    }

    @Test("--owner with an unknown user: exit 64 with the reason, nothing moved")
    func unknownOwner() throws {
        let setup = try Setup()
        try setup.fill(3)
        let before = setup.hashes(setup.incoming)
        let run = try Plugin.run(setup.arguments(["--owner", "no-such-user-here:nogroup"]))
        #expect(run.exitCode == 64, "\(run)")
        #expect(run.stderr.contains("--owner: no user 'no-such-user-here'"), "\(run)")
        #expect(setup.hashes(setup.incoming) == before)
    }

    /// Runs drain with stderr on a pseudo-terminal and returns what the terminal received.
    static func onTerminal(_ setup: Setup, _ extra: [String]) throws -> (exit: Int32?, output: String) {
        let terminal = try PseudoTerminal()
        let process = try ChildProcess(Plugin.binary, setup.arguments(extra), stderrFile: terminal.slavePath)
        let output = terminal.readAll { process.isRunning }
        process.waitUntilExit()
        return (process.exitCode, String(decoding: output, as: UTF8.self))
    }

    @Test("on a terminal: a progress bar on stderr (files, MB, rate, ETA), erased at the end; none with --cron")
    func progressBarOnATerminal() throws {
        let setup = try Setup()
        try setup.fill(30)
        let bytes = setup.hashes(setup.incoming).keys.reduce(Int64(0)) { sum, relative in
            var info = stat()
            return sum + (lstat(setup.incoming + "/" + relative, &info) == 0 ? Int64(info.st_size) : 0)
        }
        let total = "\((Double(bytes) / 1_048_576 * 10).rounded() / 10)"
        let (exit, output) = try Self.onTerminal(setup, [])
        #expect(exit == 0, "\(output)")
        #expect(output.hasPrefix("\rincoming ["), "\(output.debugDescription)")
        // The last redraw is the full bar, then the line is cleared.
        #expect(output.contains("\rincoming [########################] 30/30 files \(total)/\(total) MB "), "\(output.debugDescription)")
        #expect(output.hasSuffix(" MB/s ETA 0:00  \r\u{1B}[K"), "\(output.debugDescription)")

        let quiet = try Setup()
        try quiet.fill(30)
        let (quietExit, quietOutput) = try Self.onTerminal(quiet, ["--cron"])
        #expect(quietExit == 0)
        #expect(quietOutput == "", "\(quietOutput.debugDescription)")
    }

    @Test("lock held: exit 75, the holder named, nothing touched; --cron says nothing")
    func lockHeld() throws {
        let setup = try Setup()
        try setup.fill(5)
        let before = setup.trees()
        let fd = open(setup.lock, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        defer { close(fd) }
        #expect(flock(fd, LOCK_EX | LOCK_NB) == 0)
        let run = try Plugin.run(setup.arguments())
        #expect(run.exitCode == 75)
        #expect(run.stdout == "")
        #expect(run.stderr.hasPrefix("drain incoming: lock \(setup.lock) is held by pid \(getpid()) ("))
        #expect(run.stderr.hasSuffix("): another run is processing this queue; nothing was touched\n"))
        let quiet = try Plugin.run(setup.arguments(["--cron"]))
        #expect(quiet.exitCode == 75)
        #expect(quiet.stdout == "" && quiet.stderr == "")
        #expect(setup.trees() == before)
        #expect(!FileManager.default.fileExists(atPath: setup.state + "/journal.jsonl"))
        #expect((try? FileManager.default.contentsOfDirectory(atPath: setup.lists)) == nil)
    }

    @Test("a scan error (no clamd) leaves everything queued: exit 1")
    func engineErrorExit() throws {
        let setup = try Setup()
        try setup.fill(3)
        let before = setup.trees()
        // --engine clamd with nobody listening: cannot run at all (exit 2), nothing touched.
        let run = try Plugin.run(setup.arguments(["--engine", "clamd", "--socket", setup.tree.root + "/none.sock"]))
        #expect(run.exitCode == 2, "\(run)")
        #expect(run.stderr.contains("clamd does not answer PING"))
        #expect(setup.trees() == before)
    }

    @Test("two drains at once (even with different locks) and a legacy-like mover: nothing in two places, nothing lost")
    func concurrentRuns() throws {
        let setup = try Setup()
        try setup.fill(150)
        let before = setup.hashes(setup.incoming)
        // The legacy-like scanner: clamscan per file, mv -n to clean or infected, errors left.
        let script = setup.tree.root + "/legacy.sh"
        try FileOutput.write("""
            #!/bin/sh
            cd "$1" || exit 2
            find . -type f -print0 | while IFS= read -r -d '' f; do
              clamscan --no-summary --quiet -d "$2" -- "$f" >/dev/null 2>&1
              rc=$?
              if [ $rc -eq 0 ]; then dest="$3"; elif [ $rc -eq 1 ]; then dest="$4"; else continue; fi
              mkdir -p -- "$dest/$(dirname -- "$f")" && mv -n -- "$f" "$dest/$f" 2>/dev/null
            done
            """, to: script)
        chmod(script, 0o755)
        let legacy = try ChildProcess("/bin/bash", [script, setup.incoming, setup.database, setup.clean, setup.infected])
        let results = Mutex<[Plugin.Run]>([])
        DispatchQueue.concurrentPerform(iterations: 2) { index in
            if let run = try? Plugin.run(setup.arguments(lock: setup.lock + ".\(index)"), limit: 120) {
                results.withLock { $0.append(run) }
            }
        }
        legacy.waitUntilExit()
        let runs = results.withLock { $0 }
        #expect(runs.count == 2)
        for run in runs { #expect(run.exitCode == 0 || run.exitCode == 1, "\(run)") }
        // Whatever is left (files the others raced for) is finished by a last run.
        let last = try Plugin.run(setup.arguments())
        #expect(last.exitCode == 0, "\(last)")
        Self.expectInvariant(setup, before: before, allowQueued: false)
        #expect(setup.temporaries().isEmpty)

        // With the same lock, a second drain started during the first exits 75 without touching anything.
        let second = try Setup()
        try second.fill(60)
        let secondBefore = second.hashes(second.incoming)
        let both = Mutex<[Int32]>([])
        DispatchQueue.concurrentPerform(iterations: 2) { index in
            if index == 1 { usleep(150_000) }
            if let run = try? Plugin.run(second.arguments(), limit: 120) { both.withLock { $0.append(run.exitCode) } }
        }
        let codes = both.withLock { $0 }.sorted()
        #expect(codes == [0, 75] || codes == [0, 0], "\(codes)")
        Self.expectInvariant(second, before: secondBefore, allowQueued: false)
    }

    @Test("SIGKILL at random instants, then a rerun: the invariant holds, no temp files left")
    func killAtRandomInstants() throws {
        let kills = Int(ProcessInfo.processInfo.environment["DRAIN_KILL_COUNT"] ?? "") ?? 30
        let files = Int(ProcessInfo.processInfo.environment["DRAIN_KILL_FILES"] ?? "") ?? 120
        var random = SplitMix64(seed: UInt64(ProcessInfo.processInfo.environment["DRAIN_KILL_SEED"] ?? "") ?? 42)
        // How long an uninterrupted run takes, to spread the kills over it.
        let probe = try Setup()
        try probe.fill(files)
        let timed = try Plugin.run(probe.arguments(), limit: 300)
        #expect(timed.exitCode == 0, "\(timed)")
        let span = max(0.05, timed.seconds)
        var killedMidway = 0
        for iteration in 0..<kills {
            let setup = try Setup()
            try setup.fill(files, seed: UInt64(iteration))
            let before = setup.hashes(setup.incoming)
            let crossDevice = iteration % 2 == 1
            let extra = crossDevice ? ["--simulate-cross-device"] : []
            let process = try ChildProcess(Plugin.binary, setup.arguments(extra))
            let delay = Double(random.next() % 1000) / 1000 * span * 1.1
            usleep(UInt32(delay * 1_000_000))
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                killedMidway += 1
            }
            process.waitUntilExit()
            // Right after the kill: nothing lost (a file may be in two places only as identical copies).
            let mid = setup.trees()
            for (path, digest) in before {
                #expect(["incoming", "clean", "infected"].contains { mid[$0]?[path] == digest }, "iteration \(iteration): \(path) lost")
                if setup.infectedNames.contains(path) { #expect(mid["clean"]?[path] == nil) } else { #expect(mid["infected"]?[path] == nil) }
            }
            let rerun = try Plugin.run(setup.arguments(extra), limit: 300)
            #expect(rerun.exitCode == 0, "iteration \(iteration): \(rerun)")
            Self.expectInvariant(setup, before: before, allowQueued: false)
            #expect(setup.temporaries().isEmpty, "iteration \(iteration): \(setup.temporaries())")
        }
        print("drain kill test: \(kills) runs, \(killedMidway) killed mid-run, \(files) files each")
        #expect(killedMidway >= kills / 2)
    }
}

import Synchronization
