import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// backlog, age, wait, stuck and infected run as Icinga runs them, over real trees.
@Suite("Queue modes", .serialized)
struct QueueModeTests {
    @Test func emptyPipelineIsOK() throws {
        let tree = try PipelineTree()
        let run = try Plugin.run(tree.args("backlog", ["-w", "10", "-c", "20"]))
        #expect(run.exitCode == 0, "\(run)")
        #expect(
            run.statusLine
                == "VIRUS_SCAN OK - 0 files queued | 'backlog'=0;10;20;0 'backlog_size'=0B;;;0 'oldest_age'=0s;;;0 'incoming_files'=0;;;0 'incoming_bytes'=0B;;;0 'incoming_oldest_age'=0s;;;0 'draft_incoming_files'=0;;;0 'draft_incoming_bytes'=0B;;;0 'draft_incoming_oldest_age'=0s;;;0"
        )
        #expect(run.line(1).hasPrefix("[OK] queue incoming ("))
        #expect(run.line(1).hasSuffix("/incoming): 0 files, 0 B"))
        #expect(run.stderr == "")
    }

    /// Range endpoints through the binary: 10 files with -w 10 is OK, 11 is WARNING; 20 with -c 20 is
    /// WARNING, 21 CRITICAL.
    @Test(arguments: [(10, 0), (11, 1), (20, 1), (21, 2)])
    func backlogEndpoints(_ count: Int, _ expectedExit: Int32) throws {
        let tree = try PipelineTree()
        for index in 0..<count { try tree.file("incoming/f\(index).pdf", size: 100, age: Double(index)) }
        let run = try Plugin.run(tree.args("backlog", ["-w", "10", "-c", "20"]))
        #expect(run.exitCode == expectedExit, "\(run)")
        #expect(run.perf("backlog") == PerfItem(label: "backlog", value: Double(count), unit: "", warning: "10", critical: "20", min: "0", max: ""))
        #expect(run.perf("backlog_size")?.value == Double(count * 100))
        #expect(run.perf("incoming_files")?.value == Double(count))
        #expect(run.perf("draft_incoming_files")?.value == 0)
    }

    @Test func backlogSummaryAndLongOutput() throws {
        let tree = try PipelineTree()
        try tree.file("incoming/a/old.pdf", size: 2048, age: 252)
        try tree.file("incoming/a/new.pdf", size: 1024, age: 10)
        try tree.file("draft-incoming/b.doc", size: 1, age: 30)
        let run = try Plugin.run(tree.args("backlog", ["-w", "2", "-c", "5"]))
        #expect(run.exitCode == 1)
        #expect(
            run.statusLine
                == "VIRUS_SCAN WARNING - 3 files queued (warning above 2); oldest 4m12s | 'backlog'=3;2;5;0 'backlog_size'=3073B;;;0 'oldest_age'=252s;;;0 'incoming_files'=2;;;0 'incoming_bytes'=3072B;;;0 'incoming_oldest_age'=252s;;;0 'draft_incoming_files'=1;;;0 'draft_incoming_bytes'=1B;;;0 'draft_incoming_oldest_age'=30s;;;0"
        )
        #expect(run.line(1) == "[OK] queue incoming (\(tree.root)/incoming): 2 files, 3.0 KiB, oldest 4m12s, median age 10s")
        #expect(run.line(2) == "  4m12s 2.0 KiB a/old.pdf")
        #expect(run.line(3) == "  10s 1.0 KiB a/new.pdf")
        #expect(run.line(4) == "[OK] queue draft-incoming (\(tree.root)/draft-incoming): 1 file, 1 B, oldest 30s")
        #expect(run.line(5) == "  30s 1 B b.doc")
        #expect(run.lines.count == 7)
    }

    @Test func verboseShowsSubdirectories() throws {
        let tree = try PipelineTree()
        try tree.file("incoming/x/1", age: 5)
        try tree.file("incoming/x/2", age: 6)
        try tree.file("incoming/y/3", age: 7)
        let run = try Plugin.run(tree.args("backlog", ["-v", "--queue", "incoming"]))
        #expect(run.exitCode == 0)
        #expect(run.lines.contains("  dir x: 2 files, 20 B, oldest 6s"))
        #expect(run.lines.contains("  dir y: 1 file, 10 B, oldest 7s"))
    }

    @Test func atRangeAndTildeThroughTheBinary() throws {
        let tree = try PipelineTree()
        for index in 0..<15 { try tree.file("incoming/f\(index)") }
        let inside = try Plugin.run(tree.args("backlog", ["-c", "@10:20"]))
        #expect(inside.exitCode == 2, "\(inside)")
        #expect(inside.statusLine.hasPrefix("VIRUS_SCAN CRITICAL - 15 files queued (critical within 10..20)"))
        let tilde = try Plugin.run(tree.args("backlog", ["-w", "~:14"]))
        #expect(tilde.exitCode == 1)
        let endpoint = try Plugin.run(tree.args("backlog", ["-w", "~:15", "-c", "@16:"]))
        #expect(endpoint.exitCode == 0)
    }

    @Test func missingQueueIsCritical() throws {
        let tree = try PipelineTree(queues: ["incoming"])
        let run = try Plugin.run(tree.args("backlog", ["-w", "10"]))
        #expect(run.exitCode == 2, "\(run)")
        #expect(
            run.statusLine.hasPrefix(
                "VIRUS_SCAN CRITICAL - queue draft-incoming: queue directory \(tree.root)/draft-incoming does not exist; 0 files queued |"))
        #expect(run.perf("incoming_files") != nil)
        #expect(run.perf("draft_incoming_files") == nil)
    }

    @Test func queuePathThatIsAFileIsCritical() throws {
        let tree = try PipelineTree(queues: ["incoming"])
        try tree.file("draft-incoming")
        let run = try Plugin.run(tree.args("backlog", ["--queue", "draft-incoming"]))
        #expect(run.exitCode == 2)
        #expect(run.statusLine == "VIRUS_SCAN CRITICAL - queue draft-incoming: queue path \(tree.root)/draft-incoming is not a directory")
    }

    @Test func symlinksAndFifosAreNotCounted() throws {
        let tree = try PipelineTree()
        try tree.file("incoming/real.pdf")
        #expect(symlink("/etc/passwd", tree.root + "/incoming/link") == 0)
        #expect(mkfifo(tree.root + "/incoming/pipe", 0o600) == 0)
        let run = try Plugin.run(tree.args("backlog", ["--queue", "incoming"]))
        #expect(run.perf("backlog")?.value == 1)
        #expect(run.lines.contains("  2 entries are not regular files and were not counted (fifo 1, symlink 1): link, pipe")
            || run.lines.contains("  2 entries are not regular files and were not counted (fifo 1, symlink 1): pipe, link"), "\(run)")
    }

    /// Age thresholds in seconds with suffixes, endpoints inclusive (exact, thanks to --now).
    @Test(arguments: [(1200.0, Int32(0)), (1201.0, 1), (1800.0, 1), (1801.0, 2)])
    func ageEndpointsWithSuffixes(_ age: Double, _ expectedExit: Int32) throws {
        let tree = try PipelineTree()
        try tree.file("incoming/sub/old.pdf", age: age)
        try tree.file("draft-incoming/new.pdf", age: 3)
        let run = try Plugin.run(tree.args("age", ["-w", "20m", "-c", "30m"]))
        #expect(run.exitCode == expectedExit, "\(run)")
        #expect(run.perf("oldest_age") == PerfItem(label: "oldest_age", value: age, unit: "s", warning: "1200", critical: "1800", min: "0", max: ""))
        #expect(run.statusLine.contains("oldest waiting file \(expectedExit == 0 ? "20m" : "") ") || expectedExit != 0)
    }

    @Test func ageSummary() throws {
        let tree = try PipelineTree()
        try tree.file("incoming/sub/old.pdf", age: 3 * 3600 + 600)
        let run = try Plugin.run(tree.args("age", ["-w", "1h", "-c", "2h", "--queue", "incoming"]))
        #expect(run.exitCode == 2)
        #expect(
            run.statusLine
                == "VIRUS_SCAN CRITICAL - oldest waiting file 3h10m old: incoming/sub/old.pdf (critical above 2h); 1 file queued | 'oldest_age'=11400s;3600;7200;0 'backlog'=1;;;0 'incoming_files'=1;;;0 'incoming_bytes'=10B;;;0 'incoming_oldest_age'=11400s;;;0"
        )
    }

    @Test func ageEmptyIsOK() throws {
        let tree = try PipelineTree()
        let run = try Plugin.run(tree.args("age", ["-w", "1h", "--queue", "incoming"]))
        #expect(run.exitCode == 0)
        #expect(run.statusLine.hasPrefix("VIRUS_SCAN OK - no files waiting | 'oldest_age'=0s;3600;;0 'backlog'=0;;;0"))
    }

    /// Long output stays bounded however large the backlog.
    @Test func longOutputIsBoundedForLargeBacklogs() throws {
        let tree = try PipelineTree()
        for index in 0..<600 { try tree.file("incoming/d\(index % 50)/f\(index)", size: 1, age: Double(index)) }
        let run = try Plugin.run(tree.args("backlog", ["-vv", "--top", "5"]))
        #expect(run.exitCode == 0)
        #expect(run.perf("backlog")?.value == 600)
        #expect(run.lines.count < 120, "\(run.lines.count) lines")
        #expect(run.stdout.utf8.count < 16_384)
        #expect(run.line(2) == "  9m59s 1 B d49/f599")
        #expect(run.lines.contains("  (595 more not listed)"))
    }

    // MARK: wait

    @Test func waitFromOutcomeTreeArrivals() throws {
        let tree = try PipelineTree()
        // Ten files waited 100..1000 s (placed that long before now, processed now).
        for index in 1...10 {
            try tree.file("incoming/w\(index).pdf", age: Double(index * 100))
            try tree.process("w\(index).pdf")
        }
        let run = try Plugin.run(tree.args("wait", ["-w", "20m", "-c", "40m"]))
        #expect(run.exitCode == 0, "\(run)")
        let p90 = try #require(run.perf("wait_p90"))
        // nearest rank: the 9th of 10 waits, 900 s (+ the seconds between --now and the rename).
        #expect(p90.value >= 900 && p90.value < 905, "\(p90)")
        #expect(p90.warning == "1200" && p90.critical == "2400")
        #expect(run.perf("processed")?.value == 10)
        #expect(run.statusLine.hasPrefix("VIRUS_SCAN OK - p90 wait 15m"))
        #expect(run.statusLine.contains(" over 10 files processed in the last 10m | "))
        #expect(run.line(1).hasPrefix("waits: median ") && run.line(1).hasSuffix("; read from the outcome trees"), "\(run)")
        #expect(run.line(2) == "sources: 0 from journal, 10 from outcome tree, 0 from journal and outcome tree", "\(run)")
        #expect(run.line(3) == "  no scan journal: errors and signatures are not known", "\(run)")
        #expect(run.line(4).hasPrefix("  waited 16m") && run.line(4).hasSuffix(": incoming/w10.pdf (clean; outcome tree)"), "\(run)")
    }

    @Test(arguments: [(1500.0, Int32(1)), (2700.0, Int32(2))])
    func waitThresholds(_ waited: Double, _ expectedExit: Int32) throws {
        let tree = try PipelineTree()
        try tree.file("incoming/slow.pdf", age: waited)
        try tree.process("slow.pdf", to: "infected")
        try tree.file("draft-incoming/d.pdf", age: waited)
        try tree.process("d.pdf", from: "draft-incoming", to: "draft-clean")
        let run = try Plugin.run(tree.args("wait", ["-w", "1200", "-c", "2400", "--percentile", "50"]))
        #expect(run.exitCode == expectedExit, "\(run)")
        #expect(run.perf("wait_p50") != nil)
        #expect(run.perf("processed")?.value == 2)
    }

    @Test func waitWithNothingProcessedIsOK() throws {
        let tree = try PipelineTree()
        let run = try Plugin.run(tree.args("wait", ["-w", "1200", "-c", "2400"]))
        #expect(run.exitCode == 0)
        #expect(run.statusLine == "VIRUS_SCAN OK - no files processed in the last 10m (outcome trees) | 'processed'=0;;;0")
    }

    @Test func waitMissingOutcomeTreeIsCritical() throws {
        let tree = try PipelineTree(outcomeTrees: false)
        let run = try Plugin.run(tree.args("wait", ["--queue", "incoming"]))
        #expect(run.exitCode == 2, "\(run)")
        #expect(run.statusLine.contains("clean tree of queue incoming: queue directory \(tree.root)/clean does not exist"))
    }

    // MARK: stuck

    @Test func stuckWhenOldFileAndNothingProcessed() throws {
        let tree = try PipelineTree()
        try tree.file("incoming/stuck.pdf", age: 31 * 60)
        let run = try Plugin.run(tree.args("stuck", ["--queue", "incoming"]))
        #expect(run.exitCode == 2, "\(run)")
        #expect(
            run.statusLine
                == "VIRUS_SCAN CRITICAL - incoming stuck: oldest file waiting 31m and nothing processed in the last 30m | 'incoming_oldest_age'=1860s;;;0 'incoming_processed'=0;;;0"
        )
        #expect(run.line(1) == "[CRITICAL] incoming: 1 file waiting; nothing processed in the last 30m (outcome trees)")
        #expect(run.line(2) == "  31m stuck.pdf")
    }

    @Test func notStuckWhileMoving() throws {
        let tree = try PipelineTree()
        try tree.file("incoming/stuck.pdf", age: 31 * 60)
        try tree.file("incoming/done.pdf", age: 40 * 60)
        try tree.process("done.pdf")
        let run = try Plugin.run(tree.args("stuck", ["--queue", "incoming"]))
        #expect(run.exitCode == 0, "\(run)")
        #expect(run.statusLine.hasPrefix("VIRUS_SCAN OK - incoming: moving, 1 processed in the last 30m |"))
    }

    @Test func stuckWindowEndpointAndEmptyQueue() throws {
        let tree = try PipelineTree()
        try tree.file("incoming/edge.pdf", age: 30 * 60)
        let run = try Plugin.run(tree.args("stuck", ["--window", "30m"]))
        #expect(run.exitCode == 0, "\(run)")
        #expect(run.statusLine.hasPrefix("VIRUS_SCAN OK - incoming: 1 file waiting, oldest 30m; draft-incoming: empty |"))
        let shorter = try Plugin.run(tree.args("stuck", ["--window", "1799s"]))
        #expect(shorter.exitCode == 2)
    }

    // MARK: infected

    @Test(arguments: [(0, Int32(0)), (1, 1), (3, 2)])
    func infectedCounts(_ count: Int, _ expectedExit: Int32) throws {
        let tree = try PipelineTree()
        for index in 0..<count {
            try tree.file("incoming/bad\(index).exe", size: 68, age: 60)
            try tree.process("bad\(index).exe", to: "infected")
        }
        try tree.file("incoming/good.pdf", age: 60)
        try tree.process("good.pdf", to: "clean")
        let run = try Plugin.run(tree.args("infected", ["-w", "0", "-c", "2"]))
        #expect(run.exitCode == expectedExit, "\(run)")
        #expect(run.perf("infected") == PerfItem(label: "infected", value: Double(count), unit: "", warning: "0", critical: "2", min: "0", max: ""))
        // The files, then (when there are any) detections by signature: here only the outcome tree
        // knows them, so one unknown bucket; then the two lines on the sources.
        #expect(run.lines.count == count + 4 + (count > 0 ? 2 : 0), "\(run)")
        if count > 0 {
            #expect(run.line(1).hasSuffix(" incoming/bad\(count - 1).exe (68 B) [outcome tree]"), "\(run)")
            #expect(run.line(count + 1) == "detections by signature (distinct files quarantined in the last 1d):", "\(run)")
            #expect(run.line(count + 2) == "  \(count) (unknown: not in the journal): found in the infected tree only, signature not known", "\(run)")
        }
    }
}

/// `all` over a real tree (clamd parts skipped here; ClamdModeTests covers them with a real clamd).
@Suite("All mode", .serialized)
struct AllModeTests {
    @Test func worstStateWinsAndOneLinePerMode() throws {
        let tree = try PipelineTree()
        for index in 0..<3 { try tree.file("incoming/f\(index).pdf", age: 45 * 60) }
        let run = try Plugin.run(tree.args("all", [
            "--skip", "clamd", "--skip", "signatures", "--skip", "probe", "--queue", "incoming",
            "--backlog-warning", "2", "--backlog-critical", "10", "--age-warning", "20m", "--age-critical", "40m",
        ]))
        #expect(run.exitCode == 2, "\(run)")
        #expect(run.statusLine.hasPrefix("VIRUS_SCAN CRITICAL - age: oldest waiting file 45m old: incoming/f"), "\(run)")
        #expect(run.statusLine.contains("; stuck: incoming stuck: oldest file waiting 45m and nothing processed in the last 30m; backlog: 3 files queued (warning above 2); oldest 45m; 2 of 5 OK (wait, infected) | "), "\(run)")
        #expect(run.line(1) == "[WARNING] backlog: 3 files queued (warning above 2); oldest 45m")
        #expect(run.lines.count == 7)  // status, five modes, final newline
        #expect(run.perf("backlog")?.warning == "2")
        #expect(run.perf("oldest_age")?.critical == "")  // first label wins: backlog's oldest_age has no thresholds
        #expect(run.perf("incoming_processed")?.value == 0)
        let bad = try Plugin.run(tree.args("all", ["--skip", "nothing"]))
        #expect(bad.stdout == "VIRUS_SCAN UNKNOWN - --skip: unknown mode 'nothing' (one of backlog, age, wait, stuck, infected, clamd, signatures, probe)\n")
    }
}
