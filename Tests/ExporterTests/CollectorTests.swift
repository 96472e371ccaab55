import Foundation
@testable import ScanCore
import Testing

@Suite("Pipeline collectors")
struct CollectorTests {
    @Test func queueCollectorReportsFilesBytesOldestAndAgeHistogram() async throws {
        let tree = try PipelineTree()
        let now = WallClock.now()
        try tree.file("incoming/a/one.pdf", size: 100, age: 30, now: now)
        try tree.file("incoming/a/two.pdf", size: 200, age: 700, now: now)
        try tree.file("incoming/three.doc", size: 50, age: 4000, now: now)
        let collector = QueueCollector(queues: tree.layout.queues)
        let result = await collector.collect(now: now)
        #expect(result.success)
        let samples = parseSamples(PrometheusTextFormat.render(result.families))
        #expect(samples["virus_scan_queue_files{queue=\"incoming\"}"] == 3)
        #expect(samples["virus_scan_queue_files{queue=\"draft-incoming\"}"] == 0)
        #expect(samples["virus_scan_queue_bytes{queue=\"incoming\"}"] == 350)
        #expect(samples["virus_scan_queue_oldest_file_age_seconds{queue=\"incoming\"}"].map { abs($0 - 4000) < 0.01 } == true)
        #expect(samples["virus_scan_queue_oldest_file_age_seconds{queue=\"draft-incoming\"}"] == 0)
        let buckets = ["60": 1.0, "300": 1, "600": 1, "1200": 2, "2400": 2, "3600": 2, "21600": 3, "86400": 3, "+Inf": 3]
        for (le, count) in buckets {
            #expect(samples["virus_scan_queue_file_age_seconds_bucket{queue=\"incoming\",le=\"\(le)\"}"] == count, "le=\(le)")
        }
        #expect(samples["virus_scan_queue_file_age_seconds_count{queue=\"incoming\"}"] == 3)
        #expect(samples["virus_scan_queue_unreadable_directories{queue=\"incoming\"}"] == 0)
    }

    @Test func missingQueueFailsTheCollectorButKeepsTheOthers() async throws {
        let tree = try PipelineTree()
        try tree.file("incoming/x", size: 1)
        try FileManager.default.removeItem(atPath: tree.root + "/draft-incoming")
        let result = await QueueCollector(queues: tree.layout.queues).collect(now: WallClock.now())
        #expect(!result.success)
        #expect(result.problems.count == 1)
        let samples = parseSamples(PrometheusTextFormat.render(result.families))
        #expect(samples["virus_scan_queue_files{queue=\"incoming\"}"] == 1)
        #expect(samples["virus_scan_queue_files{queue=\"draft-incoming\"}"] == nil)
    }

    @Test func processedFilesCountOnceAcrossScrapes() async throws {
        let tree = try PipelineTree()
        // History: in the clean tree before the exporter started; never counted.
        try tree.file("clean/old/history.pdf", age: 10_000)
        try await Task.sleep(for: .milliseconds(20))
        let start = WallClock.now()
        let tracker = ProcessedTracker(countSince: start)
        let collector = OutcomeCollector(queues: tree.layout.queues, tracker: tracker)

        try tree.file("incoming/a/doc1.pdf", size: 10, age: 90)
        try tree.file("incoming/a/doc2.pdf", size: 10, age: 1500)
        try tree.file("incoming/virus.exe", size: 10, age: 30)
        try tree.file("draft-incoming/d.pdf", size: 10, age: 5000)
        try tree.move("incoming/a/doc1.pdf", to: "clean/a/doc1.pdf")
        try tree.move("incoming/a/doc2.pdf", to: "clean/a/doc2.pdf")
        try tree.move("incoming/virus.exe", to: "infected/virus.exe")
        try tree.move("draft-incoming/d.pdf", to: "draft-clean/d.pdf")

        let first = parseSamples(PrometheusTextFormat.render(await collector.collect(now: WallClock.now()).families))
        let second = parseSamples(PrometheusTextFormat.render(await collector.collect(now: WallClock.now()).families))
        for samples in [first, second] {
            #expect(samples["virus_scan_processed_total{queue=\"incoming\",verdict=\"clean\"}"] == 2)
            #expect(samples["virus_scan_processed_total{queue=\"incoming\",verdict=\"infected\"}"] == 1)
            #expect(samples["virus_scan_processed_total{queue=\"incoming\",verdict=\"error\"}"] == 0)
            #expect(samples["virus_scan_processed_total{queue=\"draft-incoming\",verdict=\"clean\"}"] == 1)
            #expect(samples["virus_scan_processed_total{queue=\"draft-incoming\",verdict=\"infected\"}"] == 0)
            #expect(samples["virus_scan_outcome_files{queue=\"incoming\",outcome=\"clean\"}"] == 3)
            #expect(samples["virus_scan_outcome_files{queue=\"incoming\",outcome=\"infected\"}"] == 1)
            #expect(samples["virus_scan_outcome_files{queue=\"draft-incoming\",outcome=\"clean\"}"] == 1)
            #expect(samples["virus_scan_outcome_files{queue=\"draft-incoming\",outcome=\"infected\"}"] == 0)
            // waits ≈ 90 s, 1500 s, 30 s for incoming; 5000 s for draft-incoming
            #expect(samples["virus_scan_wait_seconds_bucket{queue=\"incoming\",le=\"60\"}"] == 1)
            #expect(samples["virus_scan_wait_seconds_bucket{queue=\"incoming\",le=\"300\"}"] == 2)
            #expect(samples["virus_scan_wait_seconds_bucket{queue=\"incoming\",le=\"1200\"}"] == 2)
            #expect(samples["virus_scan_wait_seconds_bucket{queue=\"incoming\",le=\"2400\"}"] == 3)
            #expect(samples["virus_scan_wait_seconds_count{queue=\"incoming\"}"] == 3)
            #expect(samples["virus_scan_wait_seconds_bucket{queue=\"draft-incoming\",le=\"3600\"}"] == 0)
            #expect(samples["virus_scan_wait_seconds_bucket{queue=\"draft-incoming\",le=\"21600\"}"] == 1)
            #expect(samples["virus_scan_wait_seconds_sum{queue=\"incoming\"}"].map { abs($0 - 1620) < 5 } == true)
            #expect(samples["virus_scan_wait_recent_max_seconds{queue=\"incoming\"}"].map { abs($0 - 1500) < 5 } == true)
        }
        // A third file arrives: only it is added.
        try tree.file("incoming/late.pdf", size: 1, age: 100)
        try tree.move("incoming/late.pdf", to: "clean/late.pdf")
        let third = parseSamples(PrometheusTextFormat.render(await collector.collect(now: WallClock.now()).families))
        #expect(third["virus_scan_processed_total{queue=\"incoming\",verdict=\"clean\"}"] == 3)
        #expect(third["virus_scan_wait_seconds_count{queue=\"incoming\"}"] == 4)
    }

    @Test func trackerCountsAFileTheLastWalkMissedAndDropsOldKeys() {
        let tracker = ProcessedTracker(countSince: 1000, lag: 120, bounds: [60])
        func seen(_ files: [(String, Double, Double)]) -> [ProcessedObservation] {
            files.map { ProcessedObservation(queue: "incoming", verdict: "clean", path: Array($0.0.utf8), time: $0.2, wait: $0.2 - $0.1) }
        }
        tracker.record(seen([("a", 990, 1010), ("before-start", 900, 999)]), queues: ["incoming"], now: 1100)
        #expect(tracker.window(now: 1200) == 200)  // back to max(countSince 1000, 1100 − 120)
        // The walk at 1100 missed "b" (arrived 1090); the next one sees a, b and c.
        tracker.record(seen([("a", 990, 1010), ("b", 1080, 1090), ("c", 1150, 1190)]), queues: ["incoming"], now: 1200)
        let samples = parseSamples(PrometheusTextFormat.render(tracker.families()))
        #expect(samples["virus_scan_processed_total{queue=\"incoming\",verdict=\"clean\"}"] == 3)
        #expect(samples["virus_scan_processed_total{queue=\"incoming\",verdict=\"error\"}"] == 0)
        #expect(samples["virus_scan_wait_seconds_bucket{queue=\"incoming\",le=\"60\"}"] == 3)
        #expect(samples["virus_scan_wait_seconds_sum{queue=\"incoming\"}"] == 70)
        #expect(samples["virus_scan_last_processed_timestamp_seconds{queue=\"incoming\"}"] == 1190)
        #expect(tracker.window(now: 1300) == 220)  // back to 1200 − 120
    }

    @Test func journalAndTreesTogether() async throws {
        let tree = try PipelineTree()
        let start = WallClock.now() - 1
        let journal = ScanJournal(path: tree.root + "/journal.jsonl", pipeline: tree.layout.pipelineIdentity)
        let tracker = ProcessedTracker(countSince: start)
        let outcome = OutcomeCollector(queues: tree.layout.queues, tracker: tracker, journal: journal)
        let journalCollector = JournalCollector(journal: journal, queues: tree.layout.queues.map(\.name), tracker: tracker)
        // A file moved to clean: counted from the tree while there is no journal.
        try tree.file("incoming/moved.pdf", age: 50)
        try tree.move("incoming/moved.pdf", to: "clean/moved.pdf")
        let scraper = Scraper(collectors: [outcome, journalCollector])
        var samples = parseSamples(PrometheusTextFormat.render(await scraper.scrape().families))
        #expect(samples["virus_scan_processed_total{queue=\"incoming\",verdict=\"clean\"}"] == 1)
        #expect(samples["virus_scan_collector_success{collector=\"journal\"}"] == 1)
        #expect(samples["virus_scan_journal_malformed_records"] == nil)

        let now = WallClock.now()
        try journal.append([
            JournalRecord(time: now, queue: "incoming", path: "a.pdf", size: 1, placed: now - 1300, scanned: now, verdict: "clean", duration: 0.1, source: "drain"),
            JournalRecord(time: now, queue: "incoming", path: "b.exe", size: 1, placed: now - 30, scanned: now, verdict: "infected", signature: "Eicar-Test-Signature", duration: 0.1, source: "drain"),
            JournalRecord(time: now, queue: "draft-incoming", path: "c.zip", size: 1, placed: now - 5, scanned: now, verdict: "error", signature: "size limit", duration: 0.1, source: "drain"),
            JournalRecord(time: start - 100, queue: "incoming", path: "history.pdf", size: 1, placed: start - 200, scanned: start - 100, verdict: "clean", duration: 0.1, source: "drain"),
        ])
        for _ in 0..<2 {
            let text = PrometheusTextFormat.render(await scraper.scrape().families)
            samples = parseSamples(text)
            // One family: the outcome collector reports processed counts from both sources (the tree's
            // moved.pdf and the journal's records), the journal collector only the journal's health.
            #expect(text.components(separatedBy: "# TYPE virus_scan_processed_total counter").count == 2)
            #expect(samples["virus_scan_processed_total{queue=\"incoming\",verdict=\"clean\"}"] == 2)
            #expect(samples["virus_scan_processed_total{queue=\"incoming\",verdict=\"infected\"}"] == 1)
            #expect(samples["virus_scan_processed_total{queue=\"incoming\",verdict=\"error\"}"] == 0)
            #expect(samples["virus_scan_processed_total{queue=\"draft-incoming\",verdict=\"error\"}"] == 1)
            #expect(samples["virus_scan_wait_seconds_bucket{queue=\"incoming\",le=\"1200\"}"] == 2)
            #expect(samples["virus_scan_wait_seconds_bucket{queue=\"incoming\",le=\"2400\"}"] == 3)
            // A scan error is counted, but it is not a wait: the file stays queued.
            #expect(samples["virus_scan_wait_seconds_count{queue=\"draft-incoming\"}"] == 0)
            #expect(samples["virus_scan_journal_malformed_records"] == 0)
            #expect(samples["virus_scan_outcome_files{queue=\"incoming\",outcome=\"clean\"}"] == 1)
        }
    }
}

/// `virus_scan_held_files{queue}`: held journal records of the last hour whose file is still where it was held.
@Suite("held files gauge")
struct HeldFilesGaugeTests {
    @Test func countsHeldFilesStillInPlace() async throws {
        let tree = try PipelineTree()
        let journal = ScanJournal(path: tree.root + "/journal.jsonl", pipeline: tree.layout.pipelineIdentity)
        let now = WallClock.now()
        try tree.file("incoming/held1.pdf", age: 50)
        try tree.file("incoming/held2.pdf", age: 50)
        try tree.file("clean/published.pdf", age: 50)
        try tree.file("incoming/old.pdf", age: 8000)  // held two hours ago: outside the hour
        func held(_ queue: String, _ path: String, source: String = "drain", at time: Double = now) -> JournalRecord {
            JournalRecord(time: time, queue: queue, path: path, size: 1, placed: time - 5, scanned: time, verdict: "infected",
                          signature: "Bad.Sig", duration: 0.1, source: source, action: "held")
        }
        try journal.append([
            held("incoming", "held1.pdf"), held("incoming", "held1.pdf"),  // held twice: one file
            held("incoming", "held2.pdf"),
            held("incoming", "gone.pdf"),  // quarantined or ignored since: not there
            held("incoming", "published.pdf", source: "rescan"),  // rescan-clean held it in clean
            held("incoming", "old.pdf", at: now - 7200),
        ])
        let collector = JournalCollector(journal: journal, queues: tree.layout.queues.map(\.name),
                                         tracker: ProcessedTracker(countSince: now - 10), heldQueues: tree.layout.queues)
        let samples = parseSamples(PrometheusTextFormat.render(await Scraper(collectors: [collector]).scrape().families))
        #expect(samples["virus_scan_held_files{queue=\"incoming\"}"] == 3)
        #expect(samples["virus_scan_held_files{queue=\"draft-incoming\"}"] == 0)
    }
}
