import Glibc
@testable import ScanCore
import ScanCoreTestSupport
import Synchronization
import Testing

/// A racer thread swaps queue directories for symlinks to a decoy directory outside the tree
/// while the walkers run: no walker may ever count, list, scan or move a file of
/// the decoy. The decoy has the same shape as the queue's directories (a `sub/` directory), so a
/// walker that resolves `d7/sub` through a swapped `d7` lands in it.
@Suite("Symlink races in every walker", .serialized)
struct SymlinkRaceTests {
    /// incoming/d<i>/f<j> and incoming/d<i>/sub/g<j>, and decoy/sub/outside-<j> ten years old.
    final class RaceTree: @unchecked Sendable {
        let tree: TemporaryTree
        let names: [String]
        let realFiles: Int
        let decoyFiles: Int
        var incoming: String { tree.path("incoming") }
        var decoy: String { tree.path("decoy") }
        var stash: String { tree.path("stash") }

        init(prefix: String, directories: Int, filesPerLevel: Int, decoyFiles: Int, mtime: Double) throws {
            tree = try TemporaryTree(prefix: prefix)
            names = (0..<directories).map { "d\($0)" }
            for name in names {
                for j in 0..<filesPerLevel {
                    try tree.file("incoming/\(name)/f\(j).txt", contents: Array("inside \(name) \(j)\n".utf8), mtime: mtime)
                    try tree.file("incoming/\(name)/sub/g\(j).txt", contents: Array("inside \(name)/sub \(j)\n".utf8), mtime: mtime)
                }
            }
            realFiles = directories * filesPerLevel * 2
            self.decoyFiles = decoyFiles
            for j in 0..<decoyFiles {
                try tree.file("decoy/sub/outside-\(j).txt", contents: Array("outside \(j)\n".utf8),
                              mtime: WallClock.now() - 10 * 365 * 86400)
            }
            try tree.directory("stash")
        }

        /// Swaps one directory after another for a symlink to the decoy (the real one parked
        /// outside the queue), then puts it back, until stopped. Returns the number of swaps.
        func race<T>(_ body: () throws -> T) rethrows -> (T, swaps: Int) {
            let stop = Atomic<Bool>(false)
            let swaps = Atomic<Int>(0)
            let (incoming, stash, decoy, names) = (incoming, stash, decoy, names)
            let racer = JoinableThread {
                var index = 0
                while !stop.load(ordering: .relaxed) {
                    let name = names[index % names.count]
                    index += 1
                    guard rename(incoming + "/" + name, stash + "/" + name) == 0 else { continue }
                    symlink(decoy, incoming + "/" + name)
                    usleep(300)
                    unlink(incoming + "/" + name)
                    rename(stash + "/" + name, incoming + "/" + name)
                    swaps.add(1, ordering: .relaxed)
                }
            }
            racer.start()
            defer {
                stop.store(true, ordering: .relaxed)
                racer.join()
            }
            let result = try body()
            return (result, swaps.load(ordering: .relaxed))
        }

        /// The decoy is untouched: every file there, with its content.
        func expectDecoyIntact(sourceLocation: SourceLocation = #_sourceLocation) throws {
            for j in 0..<decoyFiles {
                #expect(try FileOutput.read(decoy + "/sub/outside-\(j).txt") == Array("outside \(j)\n".utf8),
                        sourceLocation: sourceLocation)
            }
            #expect(Inventory.files(decoy).count == decoyFiles, sourceLocation: sourceLocation)
        }
    }

    @Test("50 queue and outcome snapshots while directories are swapped for symlinks: no outside file ever counted or listed")
    func snapshots() throws {
        let now = WallClock.now()
        let race = try RaceTree(prefix: "srs", directories: 30, filesPerLevel: 50, decoyFiles: 400, mtime: now - 3600)
        let ((), swaps) = try race.race {
            var outsideSeen: [String] = []
            for round in 0..<50 {
                let snapshot = try QueueSnapshot.take(name: "incoming", path: race.incoming, now: WallClock.now(),
                                                      options: SnapshotOptions(topN: 20, threads: 2))
                #expect(snapshot.files <= race.realFiles, "round \(round): \(snapshot.files) files counted")
                #expect((snapshot.oldestAge ?? 0) < 86400, "round \(round): a ten-year-old file was counted")
                outsideSeen += snapshot.oldest.map(\.displayPath).filter { $0.contains("outside") }
                outsideSeen += snapshot.anomalies.samples.map(\.displayPath).filter { $0.contains("outside") }
                let outcome = try OutcomeSnapshot.take(queue: "incoming", outcome: .clean, path: race.incoming,
                                                       now: WallClock.now(), window: 86400 * 365 * 20,
                                                       options: SnapshotOptions(threads: 2))
                #expect(outcome.files <= race.realFiles, "round \(round): \(outcome.files) arrivals counted")
                outsideSeen += outcome.arrivals.map(\.displayPath).filter { $0.contains("outside") }
            }
            #expect(outsideSeen.isEmpty, "\(outsideSeen.count) outside paths listed, e.g. \(outsideSeen.prefix(3))")
        }
        #expect(swaps > 50, "the racer swapped only \(swaps) times")
        try race.expectDecoyIntact()
        // Without the racer, every real file is counted.
        let settled = try QueueSnapshot.take(name: "incoming", path: race.incoming, now: WallClock.now())
        #expect(settled.files == race.realFiles)
    }

    @Test("rescan's sorted walk while directories are swapped for symlinks: no outside file returned")
    func sortedWalk() throws {
        let race = try RaceTree(prefix: "srw", directories: 20, filesPerLevel: 30, decoyFiles: 200, mtime: WallClock.now() - 3600)
        let (outside, swaps) = try race.race { () throws -> [String] in
            var outside: [String] = []
            for _ in 0..<50 {
                var walk = try SortedTreeWalk(root: race.incoming, after: nil)
                while let entry = walk.next() {
                    let path = PathEscaping.display(entry.relativePath)
                    if path.contains("outside") { outside.append(path) }
                }
            }
            return outside
        }
        #expect(swaps > 50)
        #expect(outside.isEmpty, "\(outside.count) outside paths, e.g. \(outside.prefix(3))")
        try race.expectDecoyIntact()
    }

    @Test("drain while directories are swapped for symlinks: no outside file listed, scanned or moved")
    func drain() throws {
        let race = try RaceTree(prefix: "srd", directories: 30, filesPerLevel: 50, decoyFiles: 200, mtime: WallClock.now() - 3600)
        for outcome in ["clean", "infected"] { try race.tree.directory(outcome) }
        let queue = QueueDefinition(name: "incoming", incoming: race.incoming, clean: race.tree.path("clean"),
                                    infected: race.tree.path("infected"), lock: race.tree.path("incoming.lock"))
        let database = race.tree.path("db")
        try SignatureFixtures.writeSmall(to: database)
        let scanner = try LibClamAVScanner(databaseDirectory: database)
        let journal = race.tree.path("state/journal.jsonl")
        // Walk-only rounds (every file too new: opened and stat'ed, never scanned), then real drains.
        let configuration = { (moving: Bool) in
            QueueDrain.Configuration(queue: queue, minimumAge: moving ? 0 : 1e9, jobs: 2, dryRun: !moving, lockPath: queue.lock,
                                     listDirectory: race.tree.path("lists"), journalPath: journal)
        }
        let (reported, swaps) = try race.race { () throws -> [String] in
            var paths: [String] = []
            for round in 0..<31 {
                let report = try QueueDrain(configuration: configuration(round == 30), scanner: scanner).run(log: { _, _ in })
                paths += report.files.map(\.displayPath) + report.unreadable.map(\.path)
            }
            return paths
        }
        #expect(swaps > 20)
        let outside = reported.filter { $0.contains("outside") }
        #expect(outside.isEmpty, "\(outside.count) outside paths reported, e.g. \(outside.prefix(3))")
        try race.expectDecoyIntact()
        for tree in ["clean", "infected"] {
            #expect(Inventory.files(race.tree.path(tree)).keys.allSatisfy { !String(decoding: $0, as: UTF8.self).contains("outside") })
        }
        #expect(try ScanJournal(path: journal).records(since: 0).records.allSatisfy { !$0.path.contains("outside") })
        // After the race, a last run moves every real file, and only those.
        _ = try QueueDrain(configuration: configuration(true), scanner: scanner).run(log: { _, _ in })
        #expect(Inventory.files(race.incoming).isEmpty)
        #expect(Inventory.files(race.tree.path("clean")).count == race.realFiles)
        try race.expectDecoyIntact()
    }
}
