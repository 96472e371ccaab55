import Foundation
import ScanCore
import ScanCoreTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The storm breaker (`--storm-limit`) of `drain` as a process: real libclamav with the small
/// generated database, whose body signature `VirusScan.Test.Body-1` matches 40 crafted files.
@Suite("storm breaker: drain", .serialized)
struct StormBreakerDrainTests {
    static let signature = SignatureFixtures.reported(CraftedFile.bodySignature)

    /// 40 distinct files matching the body signature, and 5 clean ones.
    static func fillStorm(_ setup: DrainCommandTests.Setup, count: Int = 40) throws {
        for i in 0..<count {
            let name = "storm/\(i / 8)/report \(i).bin"
            try setup.tree.file("uploads/incoming/" + name, contents: CraftedFile.bodyWildcard.bytes + Array("copy \(i)\n".utf8),
                                mtime: WallClock.now() - 600)
            setup.infectedNames.insert(name)
        }
        for i in 0..<5 {
            try setup.tree.file("uploads/incoming/plain/doc \(i).txt", contents: Array("an ordinary document \(i)\n".utf8),
                                mtime: WallClock.now() - 600)
        }
    }

    static func journal(_ setup: DrainCommandTests.Setup) throws -> [JournalRecord] {
        try ScanJournal(path: setup.state + "/journal.jsonl").records(since: 0).records
    }

    @Test("--storm-limit 10, 40 matching files: 10 quarantined, 30 held byte-identical in the queue, exit 6, 30 held records, the advice; a second run holds all 30 again")
    func holdsPastTheLimit() throws {
        let setup = try DrainCommandTests.Setup()
        try Self.fillStorm(setup)
        let before = setup.hashes(setup.incoming)
        let run = try Plugin.run(setup.arguments(["--storm-limit", "10"]), limit: 120)
        #expect(run.exitCode == 6, "\(run)")
        let after = setup.trees()
        #expect(after["infected"]!.count == 10)
        #expect(after["clean"]!.count == 5)
        #expect(after["incoming"]!.count == 30)
        for (path, digest) in after["incoming"]! {
            #expect(before[path] == digest, "\(path) changed in the queue")
            #expect(setup.infectedNames.contains(path))
        }
        DrainCommandTests.expectInvariant(setup, before: before, allowQueued: true)
        let records = try Self.journal(setup)
        let held = records.filter { $0.action == "held" }
        #expect(held.count == 30)
        #expect(held.allSatisfy { $0.verdict == "infected" && $0.signature == Self.signature && $0.source == "drain" })
        #expect(Set(held.map(\.path)) == Set(after["incoming"]!.keys))
        #expect(records.filter { $0.action == "moved" && $0.verdict == "infected" }.count == 10)
        #expect(run.lines.filter { $0.hasPrefix(setup.incoming + "/storm/") && $0.contains(": held in the queue: \(Self.signature) matched ") && $0.hasSuffix(" distinct files, past the storm limit (neither published nor quarantined)") }.count == 30)
        #expect(run.lines.contains { $0.hasPrefix("drain incoming (libclamav): 45 scanned, 5 clean, 40 infected, 0 errors, 15 moved, 0 duplicates dropped, 0 left queued, 0 too new, 0 not regular files, 30 held (storm limit 10) in ") }, "\(run)")
        let advice = "storm: 30 files matching \(Self.signature) held (storm limit 10: 40 distinct files matched it); "
            + "if it is a false positive: check_virus_scan ignore-signature \(Self.signature) --reason 'false positive: …' --database-dir \(setup.database); "
            + "if the detections are real: run drain again with --storm-limit 0"
        #expect(run.lines.contains(advice), "\(run)")

        // Within the hour: the journal's 40 matches count, every queued match is held again.
        let second = try Plugin.run(setup.arguments(["--storm-limit", "10"]), limit: 120)
        #expect(second.exitCode == 6, "\(second)")
        #expect(setup.hashes(setup.incoming) == after["incoming"]!)
        #expect(setup.hashes(setup.infected).count == 10)
        #expect(second.lines.contains { $0.hasPrefix("drain incoming (libclamav): 30 scanned, 0 clean, 30 infected, 0 errors, 0 moved, 0 duplicates dropped, 0 left queued, 0 too new, 0 not regular files, 30 held (storm limit 10) in ") }, "\(second)")
        #expect(try Self.journal(setup).filter { $0.action == "held" }.count == 60)

        // Real detections: --storm-limit 0 quarantines the rest.
        let third = try Plugin.run(setup.arguments(["--storm-limit", "0"]), limit: 120)
        #expect(third.exitCode == 0, "\(third)")
        #expect(setup.hashes(setup.incoming).isEmpty)
        #expect(setup.hashes(setup.infected).count == 40)
        DrainCommandTests.expectInvariant(setup, before: before, allowQueued: false)
    }

    @Test("--storm-limit 0: all 40 matching files quarantined, exit 0, no held record")
    func offQuarantinesAll() throws {
        let setup = try DrainCommandTests.Setup()
        try Self.fillStorm(setup)
        let before = setup.hashes(setup.incoming)
        let run = try Plugin.run(setup.arguments(["--storm-limit", "0"]), limit: 120)
        #expect(run.exitCode == 0, "\(run)")
        #expect(setup.hashes(setup.infected).count == 40)
        #expect(setup.hashes(setup.clean).count == 5)
        DrainCommandTests.expectInvariant(setup, before: before, allowQueued: false)
        #expect(try Self.journal(setup).filter { $0.action == "held" }.isEmpty)
        #expect(!run.lines.contains { $0.hasPrefix("storm: ") || $0.contains(": held in the queue") }, "\(run)")
    }

    @Test("the default limit (100) does not hold 40 files; a journal of 95 matches in the last hour holds all but 5")
    func defaultLimitAndJournalWindow() throws {
        let setup = try DrainCommandTests.Setup()
        try Self.fillStorm(setup)
        // 95 earlier detections of the signature in this pipeline, 10 minutes ago, and 500 older than an hour.
        let resolved = realpath(setup.root, nil)!
        defer { free(resolved) }
        let journal = ScanJournal(path: setup.state + "/journal.jsonl", pipeline: String(cString: resolved))
        let now = WallClock.now()
        func record(_ i: Int, at time: Double) -> JournalRecord {
            JournalRecord(time: time, queue: "incoming", path: "earlier/\(i).bin", size: 10, placed: time - 5, scanned: time,
                          verdict: "infected", signature: Self.signature, duration: 0.01, source: "drain", action: "moved")
        }
        try journal.append((0..<500).map { record(1000 + $0, at: now - 7200) })
        try journal.append((0..<95).map { record($0, at: now - 600) })
        let run = try Plugin.run(setup.arguments(), limit: 120)
        #expect(run.exitCode == 6, "\(run)")
        #expect(setup.hashes(setup.infected).count == 5)
        #expect(setup.hashes(setup.incoming).count == 35)
        #expect(run.lines.contains { $0.hasPrefix("storm: 35 files matching \(Self.signature) held (storm limit 100: 135 distinct files matched it); ") }, "\(run)")
    }

    @Test("--storm-limit bad values: exit 64 naming the option, nothing touched", arguments: ["-1", "x", "1e3", "", "10.5", "1000000001"])
    func badLimit(_ value: String) throws {
        let setup = try DrainCommandTests.Setup()
        try Self.fillStorm(setup, count: 2)
        let before = setup.hashes(setup.incoming)
        let run = try Plugin.run(setup.arguments(["--storm-limit=\(value)"]))
        #expect(run.exitCode == 64, "\(run)")
        #expect(run.stderr.contains("--storm-limit"), "\(run)")
        #expect(setup.hashes(setup.incoming) == before)
    }
}

/// The breaker itself: pure, no files.
@Suite("storm breaker: decisions")
struct StormBreakerUnitTests {
    @Test("exactly `limit` distinct files pass; a file already counted is not counted twice; 0 is off")
    func decisions() {
        let breaker = StormBreaker(limit: 3)
        let decisions = (0..<5).map { breaker.decide(signature: "S", queue: "q", path: "f\($0)") }
        #expect(decisions == [.quarantine, .quarantine, .quarantine, .hold(matched: 4), .hold(matched: 5)])
        #expect(breaker.decide(signature: "S", queue: "q", path: "f0") == .hold(matched: 5))
        #expect(breaker.decide(signature: "T", queue: "q", path: "f0") == .quarantine)
        #expect(breaker.matchedCounts() == ["S": 5, "T": 1])
        let off = StormBreaker(limit: 0)
        #expect((0..<200).allSatisfy { off.decide(signature: "S", queue: "q", path: "f\($0)") == .quarantine })
    }

    @Test("seeded from the journal: infected records of any action but dry-run count, by queue and path")
    func seeding() {
        let breaker = StormBreaker(limit: 2)
        func record(_ path: String, _ verdict: String, _ action: String, queue: String = "incoming") -> JournalRecord {
            JournalRecord(time: 1, queue: queue, path: path, size: 1, placed: 0, scanned: 1, verdict: verdict,
                          signature: verdict == "clean" ? nil : "S", duration: 0, source: "drain", action: action)
        }
        breaker.seed(from: [record("a", "infected", "held"), record("a", "infected", "held"), record("b", "error", "kept"),
                            record("c", "infected", "dry-run"), record("a", "infected", "moved", queue: "draft-incoming")])
        #expect(breaker.matchedCounts() == ["S": 2])
        // One other file (draft-incoming's a) is known: a itself may go; then two others are.
        #expect(breaker.decide(signature: "S", queue: "incoming", path: "a") == .quarantine)
        #expect(breaker.decide(signature: "S", queue: "incoming", path: "new") == .hold(matched: 3))
    }

    @Test("the ignore-signature command is shell-safe")
    func ignoreCommand() {
        #expect(StormBreaker.ignoreCommand(signature: "Win.Test-1.UNOFFICIAL", options: ["--database-dir", "/var/lib/clam av"])
            == "check_virus_scan ignore-signature Win.Test-1.UNOFFICIAL --reason 'false positive: …' --database-dir '/var/lib/clam av'")
        #expect(StormBreaker.shellWord("it's") == "'it'\\''s'")
        #expect(StormBreaker.shellWord("") == "''")
    }
}

/// `infected --storm` and `all --storm` over a real drain's journal (real libclamav, the small
/// database): 40 files of one body signature quarantined, 3 more known only from the infected tree.
@Suite("storm: infected and all", .serialized)
struct StormInfectedTests {
    static let signature = StormBreakerDrainTests.signature

    static func setUp() throws -> DrainCommandTests.Setup {
        let setup = try DrainCommandTests.Setup()
        try StormBreakerDrainTests.fillStorm(setup)
        let drain = try Plugin.run(setup.arguments(["--storm-limit", "0"]), limit: 120)
        #expect(drain.exitCode == 0, "\(drain)")
        for i in 0..<3 { try setup.tree.file("uploads/infected/legacy/old \(i).exe", contents: Array("legacy \(i)\n".utf8)) }
        return setup
    }

    static func check(_ setup: DrainCommandTests.Setup, _ mode: String, _ extra: [String]) throws -> Plugin.Run {
        try Plugin.run([mode, "--root", setup.root, "--queue", "incoming", "--state-dir", setup.state, "--database-dir", setup.database] + extra)
    }

    @Test("--storm 10: CRITICAL naming the signature, the count and the ignore-signature command; signatures in the long output, the tree-only files as unknown; 30:50 WARNING; 50 OK")
    func infectedStorm() throws {
        let setup = try Self.setUp()
        let command = "check_virus_scan ignore-signature \(Self.signature) --reason 'false positive: …' --database-dir \(setup.database)"
        let critical = try Self.check(setup, "infected", ["--storm", "10"])
        #expect(critical.exitCode == 2, "\(critical)")
        #expect(critical.statusLine == "VIRUS_SCAN CRITICAL - signature storm: \(Self.signature) quarantined 40 files in the last 1d (--storm 10:20); if it is a false positive: \(command); 43 files quarantined in the last 1d | 'infected'=43;;;0 'signature_max'=40;9;19;0", "\(critical)")
        #expect(critical.lines.contains("signature storm \(Self.signature) (40 files): if it is a false positive, run: \(command)"), "\(critical)")
        #expect(critical.lines.contains("detections by signature (distinct files quarantined in the last 1d):"), "\(critical)")
        #expect(critical.lines.contains("  40 \(Self.signature)"), "\(critical)")
        #expect(critical.lines.contains("  3 (unknown: not in the journal): found in the infected tree only, signature not known"), "\(critical)")

        let warning = try Self.check(setup, "infected", ["--storm", "30:50"])
        #expect(warning.exitCode == 1, "\(warning)")
        #expect(warning.statusLine.hasPrefix("VIRUS_SCAN WARNING - signature storm: \(Self.signature) quarantined 40 files in the last 1d (--storm 30:50); "), "\(warning)")

        let ok = try Self.check(setup, "infected", ["--storm", "50"])
        #expect(ok.exitCode == 0, "\(ok)")
        #expect(ok.statusLine == "VIRUS_SCAN OK - 43 files quarantined in the last 1d | 'infected'=43;;;0 'signature_max'=40;49;99;0", "\(ok)")
        // The unknown bucket is no signature: its 3 files never add to the 40 (43 quarantined, no storm at 41).
        let unknown = try Self.check(setup, "infected", ["--storm", "41"])
        #expect(unknown.exitCode == 0, "\(unknown)")
    }

    @Test("all --storm 10: the infected part goes CRITICAL with the command")
    func allStorm() throws {
        let setup = try Self.setUp()
        let run = try Self.check(setup, "all", ["--storm", "10", "--skip", "clamd", "--skip", "signatures", "--skip", "probe"])
        #expect(run.exitCode == 2, "\(run)")
        #expect(run.statusLine.contains("signature storm: \(Self.signature) quarantined 40 files in the last 1d (--storm 10:20); if it is a false positive: check_virus_scan ignore-signature \(Self.signature) --reason 'false positive: …' --database-dir \(setup.database)"), "\(run)")
    }

    @Test("--storm bad values: one UNKNOWN line naming the option", arguments: ["0", "x", "10:5", "10:", ":10", "1:2:3", "-5", "1e3", "", "1000000001", " 10"])
    func badStorm(_ value: String) throws {
        let tree = try TemporaryTree(prefix: "stb")
        for directory in ["incoming", "clean", "infected", "draft-incoming", "draft-clean", "draft-infected"] { try tree.directory(directory) }
        for mode in ["infected", "all"] {
            let run = try Plugin.run([mode, "--root", tree.root, "--state-dir", tree.root + "/state", "--storm=\(value)"])
            #expect(run.exitCode == 3, "\(run)")
            #expect(run.statusLine.hasPrefix(value.isEmpty ? "VIRUS_SCAN UNKNOWN - Missing value for '--storm " : "VIRUS_SCAN UNKNOWN - --storm: "), "\(run)")
            #expect(run.lines.count == 2 && run.lines[1] == "", "\(run)")
        }
    }

    @Test("the parser: COUNT alone is COUNT:2×COUNT")
    func parser() throws {
        #expect(try StormThresholds(parsing: "10") == StormThresholds(warning: 10, critical: 20))
        #expect(try StormThresholds(parsing: "7:7") == StormThresholds(warning: 7, critical: 7))
        #expect(try StormThresholds(parsing: "1000000000") == StormThresholds(warning: 1_000_000_000, critical: 1_000_000_000))
        #expect(throws: CheckError.self) { try StormThresholds(parsing: "10:9") }
    }
}

/// The storm breaker of `rescan-clean` (real libclamav, the small database).
@Suite("storm breaker: rescan-clean", .serialized)
struct StormBreakerRescanTests {
    static let signature = StormBreakerDrainTests.signature

    @Test("--storm-limit 10, 40 matching files in clean: 10 quarantined, 30 held in clean byte-identical, exit 6, 30 held records, the advice; --new-pass --storm-limit 0 quarantines them")
    func holdsInClean() throws {
        let fixture = try RescanFixture()
        for i in 0..<40 {
            try fixture.tree.file("clean/storm/\(i / 8)/report \(i).bin", contents: CraftedFile.bodyWildcard.bytes + Array("copy \(i)\n".utf8))
        }
        try fixture.populate("clean", count: 10)
        let before = SHA256.treeHashes(fixture.root + "/clean")
        let run = try fixture.run(["--storm-limit", "10"])
        #expect(run.exitCode == 6, "\(run)")
        let clean = SHA256.treeHashes(fixture.root + "/clean")
        let infected = SHA256.treeHashes(fixture.root + "/infected")
        #expect(infected.count == 10)
        #expect(clean.count == 40)
        #expect(clean.filter { $0.key.hasPrefix("storm/") }.count == 30)
        for (path, digest) in clean { #expect(before[path] == digest, "\(path) changed") }
        for (path, digest) in infected { #expect(before[path] == digest && clean[path] == nil, "\(path)") }
        let records = try fixture.journal()
        let held = records.filter { $0.action == "held" }
        #expect(held.count == 30)
        #expect(held.allSatisfy { $0.verdict == "infected" && $0.signature == Self.signature && $0.source == "rescan" })
        #expect(Set(held.map(\.path)) == Set(clean.keys.filter { $0.hasPrefix("storm/") }))
        #expect(records.filter { $0.action == "moved" }.count == 10)
        #expect(run.lines.filter { $0.hasPrefix("INFECTED incoming: storm/") && $0.contains(": \(Self.signature): held in \(fixture.root)/clean: storm limit reached (") }.count == 30, "\(run)")
        let advice = "rescan-clean: storm: 30 files matching \(Self.signature) held (storm limit 10: 40 distinct files matched it); "
            + "if it is a false positive: check_virus_scan ignore-signature \(Self.signature) --reason 'false positive: …' --database-dir \(fixture.databaseDir); "
            + "if the detections are real: run rescan-clean --new-pass --storm-limit 0 (this pass has gone past them)"
        #expect(run.lines.contains(advice), "\(run)")
        #expect(run.stdout.contains(", 40 infected (30 held), 0 errors, "), "\(run)")

        let real = try fixture.run(["--storm-limit", "0", "--new-pass"])
        #expect(real.exitCode == 1, "\(real)")
        #expect(SHA256.treeHashes(fixture.root + "/infected").count == 40)
        #expect(SHA256.treeHashes(fixture.root + "/clean").count == 10)
    }

    @Test("--storm-limit bad value: exit 64, nothing scanned")
    func badLimit() throws {
        let fixture = try RescanFixture()
        let run = try fixture.run(["--storm-limit", "-3"])
        #expect(run.exitCode == 64, "\(run)")
        #expect(run.stderr.contains("--storm-limit"), "\(run)")
        #expect(!FileManager.default.fileExists(atPath: fixture.statePath))
    }
}

/// `db-info --signature NAME`: the file holding a signature and its build time (containers
/// unpacked by the real libclamav).
@Suite("db-info --signature")
struct DbInfoSignatureTests {
    @Test("a plain .ndb, a member of daily.cvd with its header's build time, and an unknown name (exit 3)")
    func locates() throws {
        let tree = try TemporaryTree(prefix: "dbs")
        let database = tree.root + "/db"
        try SignatureFixtures.writeSmall(to: database)
        let source = try tree.directory("daily-src")
        try FileOutput.write("VirusScan.Test.Storm-1:0:*:\(Checksums.hex(Array("vsm-storm-marker".utf8)))\n", to: source + "/daily.ndb")
        try DatabaseContainer.write(from: source, to: database + "/daily.cvd", version: 27001)

        let plain = try Plugin.run(["db-info", "--database-dir", database, "--signature", SignatureFixtures.reported(CraftedFile.bodySignature)])
        #expect(plain.exitCode == 0, "\(plain)")
        #expect(plain.line(0) == "Signature \(CraftedFile.bodySignature) in \(database):", "\(plain)")
        #expect(plain.line(1) == "  test.ndb", "\(plain)")
        #expect(plain.line(2) == "    File: \(database)/test.ndb", "\(plain)")
        #expect(plain.line(3).hasPrefix("    Build time: none (a plain database has no header); modified "), "\(plain)")
        #expect(plain.line(4) == "    Line: \(CraftedFile.bodySignatureLine)", "\(plain)")

        let packed = try Plugin.run(["db-info", "--database-dir", database, "--signature", "VirusScan.Test.Storm-1"])
        #expect(packed.exitCode == 0, "\(packed)")
        #expect(packed.line(1) == "  daily.cvd (member daily.ndb)", "\(packed)")
        #expect(packed.line(2) == "    File: \(database)/daily.cvd", "\(packed)")
        #expect(packed.line(3).hasPrefix("    Build time: \(DatabaseContainer.buildTimeText(DatabaseContainer.defaultTimestamp)) (age "), "\(packed)")
        #expect(packed.line(4) == "    Version: 27001", "\(packed)")

        let missing = try Plugin.run(["db-info", "--database-dir", database, "--signature", "Win.Not.There-1"])
        #expect(missing.exitCode == 3, "\(missing)")
        #expect(missing.stdout.isEmpty, "\(missing)")
        #expect(missing.stderr == "db-info: no database file in \(database) names the signature Win.Not.There-1 (containers unpacked and every plain database read)\n", "\(missing)")
        // The temp dirs of the unpacking are gone.
        let left = (try? FileManager.default.contentsOfDirectory(atPath: ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp")) ?? []
        #expect(!left.contains { $0.hasPrefix("virus_scan-unpack.") }, "\(left)")
    }
}
