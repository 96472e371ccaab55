import ArgumentParser
import Foundation
import Logging
import ScanCore
import ScanCoreTestSupport
import Testing

@testable import exporter

#if canImport(Glibc)
import Glibc
#endif

/// Issue 11, item 1, for the exporter: `virus_scan_processed_total` and `virus_scan_wait_seconds`
/// count every file exactly once across the scan journal (a real `drain`, the built
/// `check_virus_scan`) and the outcome trees (a legacy-like mover's plain renames), over repeated
/// scrapes; and an exporter counts only its own pipeline's journal records.
@Suite("Exporter: processed files from the journal and the trees", .serialized, .timeLimit(.minutes(3)))
struct ProcessedUnionExporterTests {
    static let plugin: String = {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return ((exe as NSString).deletingLastPathComponent as NSString).appendingPathComponent("check_virus_scan")
    }()

    /// A standard tree, a small database, and the exporter's own collectors for it (outcome and journal).
    final class Pipeline: @unchecked Sendable {
        let tree: PipelineTree
        let state: String
        var database: String { tree.root + "/db" }
        let scraper: Scraper

        init(state: String? = nil, countSince: Double = WallClock.now() - 1) throws {
            tree = try PipelineTree()
            self.state = state ?? tree.root + "/state"
            try SignatureFixtures.writeSmall(to: tree.root + "/db")
            let command = try Exporter.parse([
                "--root", tree.root, "--state-dir", self.state, "--socket", tree.root + "/no-clamd.ctl",
                "--database-dir", tree.root + "/db", "--lock", tree.root + "/rescan.lock",
            ])
            let collectors = try command.pipeline.makeCollectors(now: countSince)
            scraper = Scraper(collectors: collectors.filter { ["outcome", "journal"].contains($0.name) })
        }

        /// Files queued in incoming with their mtime `age` seconds ago.
        func queue(_ names: [String], age: Double, infected: Set<String> = []) throws {
            for name in names {
                let path = try tree.file("incoming/" + name, age: age)
                let bytes = infected.contains(name) ? EICAR.bytes : Array("upload \(name)".utf8)
                try Data(bytes).write(to: URL(fileURLWithPath: path))
                try tree.setMTime(path, WallClock.now() - age)
            }
        }

        /// A real drain of incoming (libclamav, the small database).
        func drain() throws {
            let run = try runProgram(ProcessedUnionExporterTests.plugin, [
                "drain", "--root", tree.root, "--queue", "incoming", "--lock", tree.root + "/incoming.lock",
                "--list-dir", tree.root + "/lists", "--state-dir", state, "--engine", "libclamav",
                "--database-dir", database, "--min-age", "0", "--jobs", "2", "--cron",
            ])
            #expect(run.status == 0, "\(run.stdout) \(run.stderr)")
        }

        /// The legacy cron mover: queued files that waited `age` seconds, renamed into clean/ or infected/.
        func legacyMove(_ names: [String], age: Double, infected: Set<String> = []) throws {
            try queue(names, age: age, infected: infected)
            for name in names { try tree.move("incoming/" + name, to: (infected.contains(name) ? "infected/" : "clean/") + name) }
        }

        func scrape() async -> [String: Double] {
            let scrape = await scraper.scrape()
            return parseSamples(PrometheusTextFormat.render(scrape.families))
        }
    }

    static func expectCounts(_ s: [String: Double], clean: Double, infected: Double, waits: [String: Double],
                             sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(s["virus_scan_processed_total{queue=\"incoming\",verdict=\"clean\"}"] == clean, sourceLocation: sourceLocation)
        #expect(s["virus_scan_processed_total{queue=\"incoming\",verdict=\"infected\"}"] == infected, sourceLocation: sourceLocation)
        #expect(s["virus_scan_processed_total{queue=\"incoming\",verdict=\"error\"}"] == 0, sourceLocation: sourceLocation)
        for (le, count) in waits {
            #expect(s["virus_scan_wait_seconds_bucket{queue=\"incoming\",le=\"\(le)\"}"] == count, "le=\(le)", sourceLocation: sourceLocation)
        }
        #expect(s["virus_scan_collector_success{collector=\"outcome\"}"] == 1, sourceLocation: sourceLocation)
        #expect(s["virus_scan_collector_success{collector=\"journal\"}"] == 1, sourceLocation: sourceLocation)
    }

    @Test("drain and a legacy mover: every file counted once, over repeated scrapes")
    func drainAndLegacyMoverCountOnce() async throws {
        let pipeline = try Pipeline()
        try pipeline.queue(["d/a.pdf", "d/b.pdf", "d/v.exe"], age: 900, infected: ["d/v.exe"])
        try pipeline.drain()
        var s = await pipeline.scrape()
        Self.expectCounts(s, clean: 2, infected: 1, waits: ["600": 0, "1200": 3, "+Inf": 3])
        try pipeline.legacyMove(["l/1.pdf", "l/2.pdf", "l/3.pdf", "l/4.pdf", "l/5.exe"], age: 3000, infected: ["l/5.exe"])
        for _ in 0..<3 {
            s = await pipeline.scrape()
            Self.expectCounts(s, clean: 6, infected: 2, waits: ["1200": 3, "2400": 3, "3600": 8, "+Inf": 8])
            #expect(s["virus_scan_wait_seconds_count{queue=\"incoming\"}"] == 8)
            #expect(s["virus_scan_journal_skipped_records{reason=\"other_pipeline\"}"] == 0)
        }
        // More of both: one legacy move and one drained file, then two more scrapes.
        try pipeline.legacyMove(["l/6.pdf"], age: 3000)
        try pipeline.queue(["d/c.pdf"], age: 900)
        try pipeline.drain()
        for _ in 0..<2 {
            s = await pipeline.scrape()
            Self.expectCounts(s, clean: 8, infected: 2, waits: ["1200": 4, "3600": 10, "+Inf": 10])
        }
    }

    @Test("two roots sharing one state dir: each exporter counts only its own journal records")
    func twoRootsShareAStateDirectory() async throws {
        let first = try Pipeline()
        let second = try Pipeline(state: first.state)
        try first.queue(["a.pdf", "b.pdf", "v.exe"], age: 900, infected: ["v.exe"])
        try first.drain()
        try second.queue(["x1.exe", "x2.exe", "ok.pdf"], age: 900, infected: ["x1.exe", "x2.exe"])
        try second.drain()
        // The second root's files leave its trees: only the (shared) journal still knows them.
        for name in ["infected/x1.exe", "infected/x2.exe", "clean/ok.pdf"] { #expect(unlink(second.tree.root + "/" + name) == 0) }
        for _ in 0..<2 {
            let mine = await first.scrape()
            Self.expectCounts(mine, clean: 2, infected: 1, waits: ["1200": 3, "+Inf": 3])
            #expect(mine["virus_scan_journal_skipped_records{reason=\"other_pipeline\"}"] == 3)
            let theirs = await second.scrape()
            Self.expectCounts(theirs, clean: 1, infected: 2, waits: ["1200": 3, "+Inf": 3])
            #expect(theirs["virus_scan_journal_skipped_records{reason=\"other_pipeline\"}"] == 3)
        }
    }
}
