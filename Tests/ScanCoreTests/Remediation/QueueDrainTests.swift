import CScanSupport
import Glibc
import ScanCore
import ScanCoreTestSupport
import Synchronization
import Testing

/// The drain's safety list, each proved against the real libclamav engine with the
/// small generated database, on real trees.
@Suite("QueueDrain safety", .serialized)
struct QueueDrainTests {
    private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }
    private let eicarName = SignatureFixtures.reportedEicar

    @Test("clean goes to clean, infected to infected, with list, journal and invariant")
    func movesByVerdict() throws {
        let f = try DrainFixture()
        var infected: Set<[UInt8]> = []
        for i in 0..<12 { try f.cleanFile(bytes("system/uploads/attachment_data/file/\(i)/report \(i).pdf"), seed: UInt64(i)) }
        for i in 0..<3 {
            let path = bytes("system/uploads/attachment_data/file/v\(i)/virus.com")
            try f.infectedFile(path)
            infected.insert(path)
        }
        let before = f.snapshot()["incoming"]!
        #expect(before.count == 15)
        let messages = Mutex<[String]>([])
        let report = try QueueDrain(configuration: f.configuration(), scanner: f.engine())
            .run(log: { priority, text in messages.withLock { $0.append("\(priority.rawValue) \(text)") } })

        let after = f.snapshot()
        expectNothingLost(before: before, infectedPaths: infected, after: after)
        #expect(after["incoming"]!.isEmpty)
        #expect(after["clean"]!.count == 12)
        #expect(after["infected"]!.count == 3)
        #expect(report.count("moved") == 15)
        #expect(report.infected.count == 3)
        #expect(report.allResolved)
        for file in report.infected { #expect(file.verdict == .infected(signature: eicarName)) }
        // The list: exactly the newly clean files, absolute.
        let expected = (0..<12).map { bytes(f.queue.clean + "/system/uploads/attachment_data/file/\($0)/report \($0).pdf") }
            .sorted { $0.lexicographicallyPrecedes($1) }
        #expect(f.listedPaths() == expected)
        // The journal: one record per file.
        let records = try f.journal()
        #expect(records.count == 15)
        #expect(records.filter { $0.verdict == "infected" }.count == 3)
        #expect(records.allSatisfy { $0.source == "drain" && $0.action == "moved" && $0.engine == "libclamav" && $0.queue == "incoming" })
        #expect(records.filter { $0.verdict == "infected" }.allSatisfy { $0.signature == eicarName })
        // Syslog: three infected lines (warning) and the summary (info).
        let logged = messages.withLock { $0 }
        #expect(logged.filter { $0.hasPrefix("4 File ") && $0.contains("infected (\(eicarName))") }.count == 3)
        #expect(logged.last == "6 " + QueueDrain.summary(report))
        // Created directories are 0775.
        var info = stat()
        #expect(stat(f.queue.clean + "/system/uploads/attachment_data/file/3", &info) == 0)
        #expect(info.st_mode & 0o7777 == 0o775)
        // Nothing left behind.
        #expect(Inventory.others(f.tree.root).isEmpty)
        #expect(try FileOutput.list(f.tree.path("lists")) == ["attachments"])
    }

    @Test("a scan error leaves the file queued and reported, never moved")
    func scanErrorKeepsFile() throws {
        let f = try DrainFixture()
        try f.cleanFile(bytes("a/one.txt"))
        try f.infectedFile(bytes("a/two.com"))
        let before = f.snapshot()["incoming"]!
        // A real clamd client pointed at a socket nobody listens on: every scan is an error.
        let scanner = ClamdScanner(endpoints: [.unix(path: f.tree.path("no-clamd.sock"))])
        let report = try QueueDrain(configuration: f.configuration(), scanner: scanner).run(log: { _, _ in })
        #expect(f.snapshot()["incoming"]! == before)
        #expect(f.snapshot()["clean"]!.isEmpty && f.snapshot()["infected"]!.isEmpty)
        #expect(report.kept.count == 2)
        #expect(!report.allResolved)
        for file in report.kept {
            guard case .kept(.scanError(let message)) = file.disposition else { Issue.record("\(file.disposition)"); continue }
            #expect(message.hasPrefix("no clamd could scan it: unix:\(f.tree.path("no-clamd.sock")): "))
        }
        #expect(try f.journal().map(\.verdict) == ["error", "error"])
        #expect(f.listedPaths().isEmpty)
    }

    @Test("libclamav's own size limit is an error, not clean")
    func engineLimitIsError() throws {
        let f = try DrainFixture()
        try f.cleanFile(bytes("big.bin"), size: 5000)
        try f.cleanFile(bytes("small.bin"), size: 500)
        let engine = try LibClamAVScanner(databaseDirectory: f.databaseDirectory,
                                          limits: ScanLimits(maxFileSize: 1000, maxScanSize: 1000))
        let report = try QueueDrain(configuration: f.configuration(), scanner: engine).run(log: { _, _ in })
        #expect(Set(f.snapshot()["incoming"]!.keys) == [bytes("big.bin")])
        #expect(Set(f.snapshot()["clean"]!.keys) == [bytes("small.bin")])
        let big = try #require(report.files.first { $0.relativePath == bytes("big.bin") })
        guard case .kept(.scanError(let message)) = big.disposition else { Issue.record("\(big.disposition)"); return }
        #expect(message.hasPrefix("size limit exceeded"))
    }

    @Test("a file over --max-size is an error and stays queued")
    func sizeLimit() throws {
        let f = try DrainFixture()
        try f.cleanFile(bytes("big.bin"), size: 4097)
        try f.cleanFile(bytes("edge.bin"), size: 4096)
        let report = try QueueDrain(configuration: f.configuration(maximumSize: 4096), scanner: f.engine()).run(log: { _, _ in })
        #expect(Set(f.snapshot()["incoming"]!.keys) == [bytes("big.bin")])
        #expect(Set(f.snapshot()["clean"]!.keys) == [bytes("edge.bin")])
        let big = try #require(report.files.first { $0.relativePath == bytes("big.bin") })
        #expect(big.disposition == .kept(.tooLarge(size: 4097, limit: 4096)))
        #expect(big.verdict == .error(message: "larger than the size limit (4097 > 4096 bytes)"))
        let record = try #require(try f.journal().first { $0.path == "big.bin" })
        #expect(record.verdict == "error" && record.action == "kept")
    }

    @Test("never overwrite: identical → queued copy dropped; different → conflict, stays", arguments: [false, true])
    func neverOverwrite(crossDevice: Bool) throws {
        let f = try DrainFixture()
        let same = try f.cleanFile(bytes("d/same.txt"), seed: 5)
        let mine = try f.cleanFile(bytes("d/different.txt"), seed: 6)
        let theirs = Array("someone else's file\n".utf8)
        try FileOutput.makeDirectory(f.queue.clean + "/d")
        try FileOutput.write(same, to: f.queue.clean + "/d/same.txt")
        try FileOutput.write(theirs, to: f.queue.clean + "/d/different.txt")
        let report = try QueueDrain(configuration: f.configuration(mover: SafeMover.Options(simulateCrossDevice: crossDevice)),
                                    scanner: f.engine()).run(log: { _, _ in })
        let after = f.snapshot()
        #expect(after["incoming"]! == [bytes("d/different.txt"): Inventory.hash(mine)])
        #expect(after["clean"]! == [bytes("d/same.txt"): Inventory.hash(same), bytes("d/different.txt"): Inventory.hash(theirs)])
        #expect(report.files.first { $0.relativePath == bytes("d/same.txt") }?.disposition == .droppedDuplicate(.clean))
        #expect(report.files.first { $0.relativePath == bytes("d/different.txt") }?.disposition
                == .kept(.conflict("a different file already exists at the destination")))
        #expect(Inventory.others(f.tree.root).isEmpty)
        #expect(try FileOutput.list(f.queue.clean).sorted() == ["d"])
    }

    @Test("the link+unlink path (no RENAME_NOREPLACE) moves and never overwrites")
    func linkPath() throws {
        let f = try DrainFixture()
        let a = try f.cleanFile(bytes("x/a.txt"), seed: 1)
        try f.cleanFile(bytes("x/b.txt"), seed: 2)
        try FileOutput.makeDirectory(f.queue.clean + "/x")
        try FileOutput.write(Array("other".utf8), to: f.queue.clean + "/x/b.txt")
        let report = try QueueDrain(configuration: f.configuration(mover: SafeMover.Options(simulateNoRenameNoReplace: true)),
                                    scanner: f.engine()).run(log: { _, _ in })
        #expect(f.snapshot()["clean"]![bytes("x/a.txt")] == Inventory.hash(a))
        #expect(Set(f.snapshot()["incoming"]!.keys) == [bytes("x/b.txt")])
        #expect(report.count("moved") == 1 && report.kept.count == 1)
    }

    @Test("across filesystems: a real tmpfs clean tree, copy+fsync+link+unlink, no temp files")
    func crossFilesystem() throws {
        let mountPoint = try TemporaryTree(prefix: "drt")
        let mounted = mount("tmpfs", mountPoint.root, "tmpfs", 0, "size=64m") == 0
        defer { if mounted { umount2(mountPoint.root, Int32(MNT_DETACH)) } }
        try #require(mounted, "mount -t tmpfs needs root")
        let f = try DrainFixture(cleanRoot: mountPoint.root)
        var expected: [[UInt8]: String] = [:]
        for i in 0..<8 { expected[bytes("p/\(i)/f\(i).odt")] = Inventory.hash(try f.cleanFile(bytes("p/\(i)/f\(i).odt"), size: 70_000 + i, seed: UInt64(i))) }
        // A temp file a killed run left behind, and one of another queue (not ours to remove).
        try FileOutput.write(Array("partial".utf8), to: mountPoint.root + "/.virus_scan-tmp.incoming.999999.abc")
        try FileOutput.write(Array("other".utf8), to: mountPoint.root + "/.virus_scan-tmp.draft-incoming.1.abc")
        var incomingInfo = stat(), cleanInfo = stat()
        stat(f.queue.incoming, &incomingInfo); stat(f.queue.clean, &cleanInfo)
        #expect(incomingInfo.st_dev != cleanInfo.st_dev)
        let report = try QueueDrain(configuration: f.configuration(), scanner: f.engine()).run(log: { _, _ in })
        #expect(report.count("moved") == 8)
        #expect(report.removedTemporaries == [mountPoint.root + "/.virus_scan-tmp.incoming.999999.abc"])
        var clean = Inventory.files(f.queue.clean)
        #expect(clean.removeValue(forKey: bytes(".virus_scan-tmp.draft-incoming.1.abc")) != nil)
        #expect(clean == expected)
        #expect(f.snapshot()["incoming"]!.isEmpty)
        // Modes kept on the copy.
        var info = stat()
        #expect(stat(f.queue.clean + "/p/3/f3.odt", &info) == 0 && info.st_mode & 0o777 == 0o644)
    }

    @Test("hostile names are moved intact; symlinks, FIFOs, sockets skipped and reported; newline names not listed")
    func hostileNames() throws {
        let f = try DrainFixture()
        let names: [[UInt8]] = [
            bytes("with space/a file.pdf"), bytes("new\nline/x\ny.txt"), [0x62, 0x61, 0x64, 0xFF, 0xFE, 0x2E, 0x74], // bad\xff\xfe.t
            bytes("-rf/--help"), bytes("*?[x]/$(rm -rf ~).txt"), bytes(" lead/trail "),
        ]
        var before: [[UInt8]: String] = [:]
        for (i, name) in names.enumerated() { before[name] = Inventory.hash(try f.cleanFile(name, seed: UInt64(i))) }
        let virus = bytes("-v/virus\n.com")
        before[virus] = Inventory.hash(try f.infectedFile(virus))
        // A secret outside the queue, a symlink to it, a symlinked directory, a FIFO and a socket.
        let secret = try f.tree.file("secret.txt", contents: EICAR.bytes)
        try f.tree.symlink("incoming/link.pdf", to: secret)
        try f.tree.symlink("incoming/linkdir", to: f.tree.path("db"))
        try f.tree.fifo("incoming/pipe")
        try f.tree.socket("incoming/sock")
        let report = try QueueDrain(configuration: f.configuration(), scanner: f.engine()).run(log: { _, _ in })
        let after = f.snapshot()
        expectNothingLost(before: before, infectedPaths: [virus], after: after)
        #expect(Set(after["clean"]!.keys) == Set(names))
        #expect(Set(after["infected"]!.keys) == [virus])
        // The non-regular entries: untouched, reported.
        let others = Inventory.others(f.queue.incoming)
        #expect(others == [bytes("link.pdf"): UInt32(S_IFLNK), bytes("linkdir"): UInt32(S_IFLNK),
                           bytes("pipe"): UInt32(S_IFIFO), bytes("sock"): UInt32(S_IFSOCK)])
        let skipped = Dictionary(uniqueKeysWithValues: report.notRegular.map { ($0.displayPath, $0.disposition) })
        #expect(skipped == ["link.pdf": .notRegular(.symlink), "linkdir": .notRegular(.symlink),
                            "pipe": .notRegular(.fifo), "sock": .notRegular(.socket)])
        #expect(try FileOutput.read(secret) == EICAR.bytes)
        #expect(Inventory.files(f.databaseDirectory).count == 3)
        // The list carries every clean name but the one with a newline, which is reported.
        let listed = f.listedPaths()
        let expectedListed = names.filter { !$0.contains(UInt8(ascii: "\n")) }.map { bytes(f.queue.clean + "/") + $0 }
            .sorted { $0.lexicographicallyPrecedes($1) }
        #expect(listed == expectedListed)
        #expect(report.unlistable == [f.queue.clean + "/new\\nline/x\\ny.txt"])
        let journal = try f.journal()
        #expect(Set(journal.map(\.path)) == Set((names + [virus]).map { PathEscaping.display($0) }))
    }

    @Test("a file replaced by a symlink between scan and move is not moved")
    func replacedBySymlink() throws {
        let f = try DrainFixture()
        let original = try f.cleanFile(bytes("u/doc.pdf"))
        let secret = try f.tree.file("secret.txt", contents: EICAR.bytes)
        let queue = f.queue
        let scanner = RacingScanner(inner: try f.engine()) { _ in
            rename(queue.incoming + "/u/doc.pdf", queue.incoming + "/../moved-away.pdf")
            symlink(secret, queue.incoming + "/u/doc.pdf")
        }
        let report = try QueueDrain(configuration: f.configuration(), scanner: scanner).run(log: { _, _ in })
        #expect(report.files.first { $0.displayPath == "u/doc.pdf" }?.disposition
                == .kept(.changed("replaced by another entry during the scan")))
        #expect(f.snapshot()["clean"]!.isEmpty)
        #expect(Inventory.others(queue.incoming) == [bytes("u/doc.pdf"): UInt32(S_IFLNK)])
        #expect(try FileOutput.read(f.tree.path("moved-away.pdf")) == original)
        // The next run reports the symlink and still does not follow it.
        let second = try QueueDrain(configuration: f.configuration(), scanner: f.engine()).run(log: { _, _ in })
        #expect(second.files.map(\.disposition) == [.notRegular(.symlink)])
        #expect(f.snapshot()["clean"]!.isEmpty)
    }

    @Test("a file still being written (size or mtime changes during the scan) stays queued; --min-age skips new files")
    func stillBeingWritten() throws {
        let f = try DrainFixture()
        try f.cleanFile(bytes("w/growing.bin"))
        try f.cleanFile(bytes("w/touched.bin"))
        try f.cleanFile(bytes("w/fresh.bin"), mtime: WallClock.now() - 2)
        let stable = try f.cleanFile(bytes("w/stable.bin"))
        let queue = f.queue
        let scanner = RacingScanner(inner: try f.engine()) { name in
            if name == "w/growing.bin" {
                let fd = open(queue.incoming + "/w/growing.bin", O_WRONLY | O_APPEND)
                _ = write(fd, "more", 4)
                close(fd)
            } else if name == "w/touched.bin" {
                var times = [timespec(tv_sec: 0, tv_nsec: (1 << 30) - 2), timespec(tv_sec: 1_700_000_000, tv_nsec: 0)]  // UTIME_OMIT, then mtime
                utimensat(AT_FDCWD, queue.incoming + "/w/touched.bin", &times, 0)
            }
        }
        let report = try QueueDrain(configuration: f.configuration(minimumAge: 10, jobs: 1), scanner: scanner).run(log: { _, _ in })
        let dispositions = Dictionary(uniqueKeysWithValues: report.files.map { ($0.displayPath, $0.disposition) })
        let expected: [String: QueueDrain.Disposition] = [
            "w/growing.bin": .kept(.changed("size or modification time changed during the scan")),
            "w/touched.bin": .kept(.changed("size or modification time changed during the scan")),
            "w/fresh.bin": .tooNew,
            "w/stable.bin": .moved(.clean),
        ]
        #expect(dispositions == expected)
        #expect(Set(f.snapshot()["incoming"]!.keys) == [bytes("w/growing.bin"), bytes("w/touched.bin"), bytes("w/fresh.bin")])
        #expect(f.snapshot()["clean"]! == [bytes("w/stable.bin"): Inventory.hash(stable)])
    }

    @Test("--dry-run scans and reports but moves, lists and journals nothing")
    func dryRun() throws {
        let f = try DrainFixture()
        try f.cleanFile(bytes("a.txt"))
        try f.infectedFile(bytes("b.com"))
        let before = f.snapshot()
        let report = try QueueDrain(configuration: f.configuration(dryRun: true), scanner: f.engine()).run(log: { _, _ in })
        #expect(f.snapshot() == before)
        #expect(Dictionary(uniqueKeysWithValues: report.files.map { ($0.displayPath, $0.disposition) })
                == ["a.txt": .wouldMove(.clean), "b.com": .wouldMove(.infected)])
        #expect(f.listedPaths().isEmpty)
        #expect(try f.journal().isEmpty)
    }

    @Test("lock held by another process: lockHeld naming it, nothing touched")
    func lockHeld() throws {
        let f = try DrainFixture()
        try f.cleanFile(bytes("a.txt"))
        let before = f.snapshot()
        try FileOutput.makeDirectory(f.tree.path("run"))
        let fd = open(f.queue.lock, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        #expect(flock(fd, LOCK_EX | LOCK_NB) == 0)
        defer { close(fd) }
        let error = #expect(throws: RemediationError.self) {
            _ = try QueueDrain(configuration: f.configuration(), scanner: f.engine()).run(log: { _, _ in })
        }
        #expect(error?.code == .lockHeld)
        #expect(error?.message.hasPrefix("lock \(f.queue.lock) is held by pid \(getpid()) (") == true)
        #expect(f.snapshot() == before)
        #expect(try f.journal().isEmpty)
        #expect(f.listedPaths().isEmpty)
    }
}
