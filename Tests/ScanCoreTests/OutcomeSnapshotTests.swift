import Glibc
@testable import ScanCore
import ScanCoreTestSupport
import Testing

@Suite("Outcome snapshot")
struct OutcomeSnapshotTests {
    /// Moves `relative` from incoming to clean by rename, as a scanner does (stamping its ctime).
    func process(_ tree: TemporaryTree, _ relative: String, to outcome: String = "clean") throws {
        let destination = tree.path("\(outcome)/\(relative)")
        let parent = String(destination[..<destination.lastIndex(of: "/")!])
        try FileOutput.makeDirectory(parent)
        #expect(rename(tree.path("incoming/\(relative)"), destination) == 0)
    }

    @Test("arrivals within the window with wait = ctime − mtime; older files only counted")
    func arrivalsAndWaits() throws {
        let tree = try TemporaryTree()
        // History: 3 directories of old clean files, written before the window opens.
        for dir in 0..<3 { for index in 0..<4 { try tree.file("clean/old/\(dir)/f\(index)", size: 10) } }
        try tree.directory("infected")
        // Uploads waiting since long before the window.
        let start = WallClock.now()
        try tree.file("incoming/attachment_data/file/7/report.pdf", size: 1234, mtime: start - 1800)
        try tree.file("incoming/attachment_data/file/8/data.csv", size: 99, mtime: start - 60)
        try tree.file("incoming/bad.exe", size: 5, mtime: start - 300)
        // Make sure the history predates the window (ctime cannot be set back, so wait it out).
        usleep(1_200_000)
        let since = WallClock.now() - 0.05
        try process(tree, "attachment_data/file/7/report.pdf")
        try process(tree, "attachment_data/file/8/data.csv")
        try process(tree, "bad.exe", to: "infected")
        let now = WallClock.now() + 0.01
        let layout = PipelineLayout.standard(root: tree.root)
        let queue = try layout.queue(named: "incoming")
        let clean = try OutcomeSnapshot.take(queue: queue, outcome: .clean, now: now, window: now - since)
        #expect(clean.files == 14)
        #expect(clean.arrivals.count == 2)
        #expect(Set(clean.arrivals.map(\.displayPath)) == ["attachment_data/file/7/report.pdf", "attachment_data/file/8/data.csv"])
        for arrival in clean.arrivals {
            let meta = try FileMetadata.read(path: tree.path("clean/" + arrival.displayPath)).get()
            #expect(arrival.placed == meta.modified)
            #expect(arrival.arrived == meta.changed)
            #expect(arrival.wait == meta.changed - meta.modified)
            #expect(arrival.size == meta.size)
        }
        let report = try #require(clean.arrivals.first { $0.displayPath.hasSuffix("report.pdf") })
        #expect(report.wait >= 1801 && report.wait < 1900)
        // Cost bound: of the 9 directories (clean, old, old/0-2, attachment_data, file, 7, 8), only
        // the 5 that changed within the window had their files stat'ed; the 4 of history (12 files)
        // were counted from their entries alone.
        #expect(clean.directoriesRead == 9)
        #expect(clean.directoriesChanged == 5)
        #expect(clean.filesStatted == 2)

        let infected = try OutcomeSnapshot.take(queue: queue, outcome: .infected, now: now, window: now - since)
        #expect(infected.files == 1)
        #expect(infected.arrivals.map(\.displayPath) == ["bad.exe"])
        #expect(infected.outcome == .infected)
    }

    @Test("a file renamed into an old, deep directory is still found")
    func renameIntoExistingDirectory() throws {
        let tree = try TemporaryTree()
        try tree.file("clean/a/b/c/existing", size: 1)
        try tree.file("incoming/a/b/c/new", size: 2, mtime: WallClock.now() - 500)
        usleep(1_100_000)
        let since = WallClock.now() - 0.05
        try process(tree, "a/b/c/new")
        let now = WallClock.now() + 0.01
        let snapshot = try OutcomeSnapshot.take(queue: "incoming", outcome: .clean, path: tree.path("clean"), now: now, window: now - since)
        #expect(snapshot.files == 2)
        #expect(snapshot.arrivals.map(\.displayPath) == ["a/b/c/new"])
        #expect(snapshot.filesStatted == 2)
        #expect(snapshot.directoriesChanged == 1)
    }

    @Test("a missing outcome tree is an error naming it")
    func missingTree() throws {
        let tree = try TemporaryTree()
        let error = #expect(throws: PipelineError.self) {
            try OutcomeSnapshot.take(queue: "incoming", outcome: .clean, path: tree.path("clean"), now: 0, window: 600)
        }
        #expect(error?.code == .queueMissing)
    }
}
