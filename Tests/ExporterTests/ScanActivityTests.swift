import Foundation
import ScanCore
import ScanCoreTestSupport
import Testing

@testable import exporter

/// Detections by signature, scan durations and scan errors by reason, from the scan journal.
@Suite("Scan activity from the journal", .serialized, .timeLimit(.minutes(3)))
struct ScanActivityTests {
    static func record(_ path: String, queue: String = "incoming", verdict: String, signature: String? = nil, duration: Double = 0.2,
                       at time: Double, action: String = "moved") -> JournalRecord {
        JournalRecord(time: time, queue: queue, path: path, size: 10, placed: time - 30, scanned: time, verdict: verdict,
                      signature: signature, duration: duration, source: "drain", engine: "clamd", action: action)
    }

    @Test func errorMessagesAreClassifiedByReason() {
        let cases: [(String?, ScanErrorReason)] = [
            ("scan timed out after 30 s (the scanning process was killed)", .timeout),
            ("no clamd could scan it: clamd at /run/clamd.ctl: timed out", .timeout),
            ("size limit exceeded (Heuristics.Limits.Exceeded.MaxFileSize)", .limits),
            ("larger than the size limit (300000000 > 104857600 bytes)", .limits),
            ("over clamd's limit (30000000 > 26214400 bytes; with AlertExceedsMax no clamd would call it clean unscanned)", .limits),
            ("INSTREAM size limit exceeded", .limits),
            ("cannot open /q/a.pdf: No such file or directory", .io),
            ("cannot read: Permission denied", .io),
            ("not a regular file", .io),
            ("changed while being scanned (size 10 → 20); scanned again next pass", .changed),
            ("changed while scanning: mtime moved", .changed),
            ("the scanning process died while scanning (signal 11)", .engine),
            ("no clamd could scan it: clamd at /run/clamd.ctl: connection refused", .engine),
            ("CL_EFORMAT: Bad format or broken data", .engine),
            (nil, .engine),
        ]
        for (message, reason) in cases {
            #expect(ScanErrorReason.classify(message) == reason, "\(message ?? "nil")")
        }
    }

    @Test func aHundredSignaturesKeepTwentySeriesAndTheRestAsOther() throws {
        let tracker = ScanActivityTracker(countSince: 1000, topK: 20)
        var records: [JournalRecord] = []
        for n in 0..<100 {
            // Signature n matched n+1 files: 5,050 detections in all.
            for copy in 0...n { records.append(Self.record("/s\(n)/\(copy).zip", verdict: "infected", signature: "Vsm.Sig.\(n)", at: 1100 + Double(n))) }
        }
        tracker.record(records, queues: ["incoming"], now: 1300)
        let text = PrometheusTextFormat.render(tracker.families())
        let samples = parseSamples(text)
        let detections = samples.filter { $0.key.hasPrefix("virus_scan_detections_total{") }
        #expect(detections.count == 21)
        #expect(detections.values.reduce(0, +) == 5050)
        // The counter's labels are the first twenty signatures seen (a label is never taken back).
        #expect(detections["virus_scan_detections_total{queue=\"incoming\",signature=\"Vsm.Sig.19\"}"] == 20)
        #expect(detections["virus_scan_detections_total{queue=\"incoming\",signature=\"Vsm.Sig.20\"}"] == nil)
        #expect(detections["virus_scan_detections_total{queue=\"incoming\",signature=\"other\"}"] == Double((21...100).reduce(0, +)))
        let recent = samples.filter { $0.key.hasPrefix("virus_scan_detections_recent{") }
        #expect(recent.count == 21)
        // The gauge has the twenty largest: Vsm.Sig.80 … Vsm.Sig.99.
        #expect(recent["virus_scan_detections_recent{queue=\"incoming\",signature=\"Vsm.Sig.99\"}"] == 100)
        #expect(recent["virus_scan_detections_recent{queue=\"incoming\",signature=\"Vsm.Sig.80\"}"] == 81)
        #expect(recent["virus_scan_detections_recent{queue=\"incoming\",signature=\"Vsm.Sig.79\"}"] == nil)
        #expect(recent["virus_scan_detections_recent{queue=\"incoming\",signature=\"other\"}"] == Double((1...80).reduce(0, +)))
        let lint = try runProgram("/usr/bin/promtool", ["check", "metrics"], input: text)
        #expect(lint.status == 0 && lint.stdout.isEmpty && lint.stderr.isEmpty, "\(lint.stdout)\(lint.stderr)")
    }

    @Test func countersOnlyGrowAndEachRecordCountsOnce() {
        let tracker = ScanActivityTracker(countSince: 1000, topK: 2)
        let first = [
            Self.record("a.zip", verdict: "infected", signature: "A", at: 1010),
            Self.record("b.zip", verdict: "infected", signature: "B", at: 1011),
            Self.record("c.zip", verdict: "infected", signature: "C", at: 1012),
        ]
        tracker.record(first, queues: ["incoming"], now: 1020)
        var s = parseSamples(PrometheusTextFormat.render(tracker.families()))
        #expect(s["virus_scan_detections_total{queue=\"incoming\",signature=\"A\"}"] == 1)
        #expect(s["virus_scan_detections_total{queue=\"incoming\",signature=\"B\"}"] == 1)
        #expect(s["virus_scan_detections_total{queue=\"incoming\",signature=\"other\"}"] == 1)
        // The same records read again (the window overlaps) plus a storm of C.
        let storm = (0..<5).map { Self.record("storm/\($0).pdf", verdict: "infected", signature: "C", at: 1030 + Double($0)) }
        tracker.record(first + storm, queues: ["incoming"], now: 1040)
        s = parseSamples(PrometheusTextFormat.render(tracker.families()))
        // Each record once; C stays in other (A and B took the two labels), the gauge names it.
        #expect(s["virus_scan_detections_total{queue=\"incoming\",signature=\"A\"}"] == 1)
        #expect(s["virus_scan_detections_total{queue=\"incoming\",signature=\"B\"}"] == 1)
        #expect(s["virus_scan_detections_total{queue=\"incoming\",signature=\"C\"}"] == nil)
        #expect(s["virus_scan_detections_total{queue=\"incoming\",signature=\"other\"}"] == 6)
        #expect(s["virus_scan_detections_recent{queue=\"incoming\",signature=\"C\"}"] == 6)
        #expect(s["virus_scan_detections_recent{queue=\"incoming\",signature=\"other\"}"] == 1)
        // A dry run is not a quarantine.
        tracker.record([Self.record("d.zip", verdict: "infected", signature: "C", at: 1050, action: "dry-run")], queues: ["incoming"], now: 1060)
        s = parseSamples(PrometheusTextFormat.render(tracker.families()))
        #expect(s["virus_scan_detections_total{queue=\"incoming\",signature=\"other\"}"] == 6)
    }

    @Test func durationHistogramAndErrorsByReason() {
        let tracker = ScanActivityTracker(countSince: 1000)
        tracker.record([
            Self.record("a.pdf", verdict: "clean", duration: 0.004, at: 1001),
            Self.record("b.pdf", verdict: "clean", duration: 0.3, at: 1002),
            Self.record("c.pdf", verdict: "clean", duration: 12, at: 1003),
            Self.record("d.pdf", verdict: "error", signature: "scan timed out after 30 s (the scanning process was killed)", duration: 30, at: 1004),
            Self.record("e.pdf", verdict: "error", signature: "larger than the size limit (9 > 1 bytes)", duration: 0, at: 1005),
            Self.record("old.pdf", verdict: "clean", duration: 1, at: 999),
        ], queues: ["incoming", "draft-incoming"], now: 1010)
        let s = parseSamples(PrometheusTextFormat.render(tracker.families()))
        #expect(s["virus_scan_scan_duration_seconds_bucket{queue=\"incoming\",le=\"0.01\"}"] == 2)
        #expect(s["virus_scan_scan_duration_seconds_bucket{queue=\"incoming\",le=\"0.5\"}"] == 3)
        #expect(s["virus_scan_scan_duration_seconds_bucket{queue=\"incoming\",le=\"10\"}"] == 3)
        #expect(s["virus_scan_scan_duration_seconds_bucket{queue=\"incoming\",le=\"30\"}"] == 5)
        #expect(s["virus_scan_scan_duration_seconds_count{queue=\"incoming\"}"] == 5)
        #expect(s["virus_scan_scan_duration_seconds_sum{queue=\"incoming\"}"] == 42.304)
        #expect(s["virus_scan_scan_duration_seconds_count{queue=\"draft-incoming\"}"] == 0)
        #expect(s["virus_scan_scan_errors_total{queue=\"incoming\",reason=\"timeout\"}"] == 1)
        #expect(s["virus_scan_scan_errors_total{queue=\"incoming\",reason=\"limits\"}"] == 1)
        #expect(s["virus_scan_scan_errors_total{queue=\"incoming\",reason=\"io\"}"] == 0)
        #expect(s["virus_scan_scan_errors_total{queue=\"draft-incoming\",reason=\"engine\"}"] == 0)
    }

    /// The journal of a real pipeline, scraped by a real Prometheus through the exporter.
    @Test func realPrometheusSeesDetectionsBySignature() async throws {
        let pipeline = try RealPipeline()
        let journal = ScanJournal(path: pipeline.tree.root + "/state/journal.jsonl", pipeline: PipelineLayout.standard(root: pipeline.tree.root).pipelineIdentity)
        let now = WallClock.now()
        var records = (0..<60).map { Self.record("storm/\($0).pdf", verdict: "infected", signature: "Vsm.Storm.Body.UNOFFICIAL", duration: 0.05, at: now) }
        records.append(Self.record("x.zip", verdict: "error", signature: "size limit exceeded (Heuristics.Limits.Exceeded.MaxScanSize)", duration: 1.5, at: now))
        try journal.append(records)
        try await withRunningExporter(pipeline.configuration) { exporterPort in
            let prometheus = try PrometheusServer(target: "127.0.0.1:\(exporterPort)", rules: repositoryRoot + "/prometheus/alerts.yml")
            try await prometheus.start()
            defer { prometheus.stop() }
            #expect(try await eventually(timeout: .seconds(30)) { try await prometheus.query("up{job=\"virus_scan\"}").first?.value == 1 })
            let storm = try await prometheus.query("virus_scan_detections_total{signature=\"Vsm.Storm.Body.UNOFFICIAL\"}")
            #expect(storm.count == 1)
            #expect(storm.first?.labels["queue"] == "incoming")
            #expect(storm.first?.value == 60)
            #expect(try await prometheus.query("virus_scan_detections_recent{signature=\"Vsm.Storm.Body.UNOFFICIAL\"}").first?.value == 60)
            #expect(try await prometheus.query("virus_scan_scan_errors_total{queue=\"incoming\",reason=\"limits\"}").first?.value == 1)
            #expect(try await prometheus.query("virus_scan_scan_duration_seconds_count{queue=\"incoming\"}").first?.value == 61)
            // The storm alert fires (no `for:`): Prometheus evaluates the rule from the scraped gauge.
            #expect(try await eventually(timeout: .seconds(30)) {
                try await prometheus.query("ALERTS{alertname=\"VirusScanDetectionStorm\",alertstate=\"firing\"}").first?.labels["signature"] == "Vsm.Storm.Body.UNOFFICIAL"
            })
        }
    }
}
