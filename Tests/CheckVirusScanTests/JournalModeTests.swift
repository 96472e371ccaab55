import ScanCore
import Testing

/// wait, stuck and infected read the scan journal that drain writes (this pipeline's records), with the outcome trees.
@Suite("Modes from the scan journal", .serialized)
struct JournalModeTests {
    func record(_ tree: PipelineTree, queue: String = "incoming", _ path: String, waited: Double, ago: Double,
                verdict: String = "clean", source: String = "drain", action: String = "moved") -> JournalRecord {
        let scanned = tree.now - ago
        return JournalRecord(
            time: scanned, queue: queue, path: path, size: 2048, placed: scanned - waited, scanned: scanned,
            verdict: verdict, signature: verdict == "infected" ? "Eicar-Test-Signature.UNOFFICIAL" : (verdict == "error" ? "Can't open file" : nil),
            duration: 0.2, source: source, engine: "clamd", action: action)
    }

    @Test func waitPercentileFromJournal() throws {
        let tree = try PipelineTree()
        let journal = tree.journal
        // Ten processed uploads that waited 100..1000 s, within the window; noise that must not count:
        // an old record, a dry run, an error (file stayed queued), a rescan detection, another queue.
        var records = (1...10).map { record(tree, "w\($0).pdf", waited: Double($0 * 100), ago: 60) }
        records.append(record(tree, "old.pdf", waited: 9000, ago: 3600))
        records.append(record(tree, "dry.pdf", waited: 9000, ago: 30, action: "dry-run"))
        records.append(record(tree, "err.pdf", waited: 9000, ago: 30, verdict: "error", action: "kept"))
        records.append(record(tree, "published.pdf", waited: 90000, ago: 30, verdict: "infected", source: "rescan"))
        records.append(record(tree, queue: "elsewhere", "x.pdf", waited: 9000, ago: 30))
        try journal.append(records)
        let run = try Plugin.run(tree.args("wait", ["-w", "15m", "-c", "40m"]))
        #expect(run.exitCode == 0, "\(run)")
        #expect(run.perf("wait_p90") == PerfItem(label: "wait_p90", value: 900, unit: "s", warning: "900", critical: "2400", min: "0", max: ""))
        #expect(run.perf("wait_max")?.value == 1000)
        #expect(run.perf("processed")?.value == 10)
        #expect(run.line(1) == "waits: median 8m20s, max 16m40s; read from the scan journal and outcome trees", "\(run)")
        #expect(run.line(2) == "sources: 10 from journal, 0 from outcome tree, 0 from journal and outcome tree", "\(run)")
        // 901 s would be WARNING: the same journal with one more slow file.
        try journal.append([record(tree, "slow.pdf", waited: 2000, ago: 10), record(tree, "slower.pdf", waited: 2000, ago: 10)])
        let warning = try Plugin.run(tree.args("wait", ["-w", "15m", "-c", "40m"]))
        #expect(warning.exitCode == 1, "\(warning)")
        #expect(warning.perf("wait_p90")?.value == 2000)
    }

    @Test func infectedListsSignaturesFromJournal() throws {
        let tree = try PipelineTree()
        let journal = tree.journal
        try journal.append([
            record(tree, "attachment_data/file/1/invoice.exe", waited: 30, ago: 7200, verdict: "infected"),
            record(tree, queue: "draft-incoming", "d.doc", waited: 30, ago: 600, verdict: "infected"),
            record(tree, "clean.pdf", waited: 30, ago: 600),
            record(tree, "too-old.exe", waited: 30, ago: 2 * 86400, verdict: "infected"),
        ])
        let run = try Plugin.run(tree.args("infected", ["-w", "0", "-c", "5"]))
        #expect(run.exitCode == 1, "\(run)")
        #expect(run.perf("infected")?.value == 2)
        #expect(run.statusLine.hasPrefix("VIRUS_SCAN WARNING - 2 files quarantined in the last 1d"), "\(run)")
        #expect(run.lines.contains("  10m ago draft-incoming/d.doc (2.0 KiB) Eicar-Test-Signature.UNOFFICIAL [journal]"), "\(run)")
        #expect(run.lines.contains("  2h ago incoming/attachment_data/file/1/invoice.exe (2.0 KiB) Eicar-Test-Signature.UNOFFICIAL [journal]"), "\(run)")
    }

    @Test func stuckIgnoresRescanDetections() throws {
        let tree = try PipelineTree()
        try tree.file("incoming/waiting.pdf", age: 3600)
        let journal = tree.journal
        try journal.append([record(tree, "published.pdf", waited: 90000, ago: 60, verdict: "infected", source: "rescan")])
        let stuck = try Plugin.run(tree.args("stuck"))
        #expect(stuck.exitCode == 2, "\(stuck)")
        try journal.append([record(tree, "drained.pdf", waited: 3000, ago: 60)])
        let moving = try Plugin.run(tree.args("stuck"))
        #expect(moving.exitCode == 0, "\(moving)")
    }

    @Test("records of another pipeline sharing the state dir are skipped; records with no pipeline are counted as unattributed, never as processed")
    func otherPipelinesAndUnattributedRecords() throws {
        let tree = try PipelineTree()
        let other = ScanJournal(path: tree.journal.path, pipeline: "/srv/another/root")
        let unattributed = ScanJournal(path: tree.journal.path)
        try other.append([record(tree, "theirs.exe", waited: 30, ago: 60, verdict: "infected")])
        try unattributed.append([record(tree, "legacy-format.exe", waited: 30, ago: 60, verdict: "infected")])
        try tree.journal.append([record(tree, "ours.exe", waited: 30, ago: 60, verdict: "infected")])
        let run = try Plugin.run(tree.args("infected", ["-w", "0", "-c", "5"]))
        #expect(run.perf("infected")?.value == 1, "\(run)")
        #expect(run.lines.contains("  1m ago incoming/ours.exe (2.0 KiB) Eicar-Test-Signature.UNOFFICIAL [journal]"), "\(run)")
        #expect(!run.lines.contains { $0.contains("theirs.exe") || $0.contains("legacy-format.exe") }, "\(run)")
        #expect(run.lines.contains("  1 journal records of other pipelines sharing the state directory skipped"), "\(run)")
        #expect(run.lines.contains("  1 unattributed journal records (no pipeline, written before 0.9) not counted; the files they moved count from the outcome trees"), "\(run)")
    }
}
