import ScanCore
import Synchronization
import Testing

@Suite("Scraper")
struct ScraperTests {
    @Test func failingCollectorNeverFailsTheScrape() async {
        let good = ScriptedCollector(name: "queue", families: [.gauge("virus_scan_queue_files", help: "h", [([Label("queue", "incoming")], 4)])])
        let bad = ScriptedCollector(name: "clamd", families: [.gauge("clamav_up", help: "h", value: 0)], fails: true)
        let scraper = Scraper(collectors: [good, bad], version: "9.9.9", clock: { 1000 })
        let scrape = await scraper.scrape()
        let text = PrometheusTextFormat.render(scrape.families)
        let samples = parseSamples(text)
        #expect(samples["virus_scan_queue_files{queue=\"incoming\"}"] == 4)
        #expect(samples["clamav_up"] == 0)
        #expect(samples["virus_scan_collector_success{collector=\"queue\"}"] == 1)
        #expect(samples["virus_scan_collector_success{collector=\"clamd\"}"] == 0)
        #expect(samples["virus_scan_exporter_build_info{version=\"9.9.9\"}"] == 1)
        #expect(samples.keys.contains("virus_scan_collector_duration_seconds{collector=\"queue\"}"))
        #expect(samples.keys.contains("virus_scan_collector_duration_seconds{collector=\"clamd\"}"))
        #expect(scrape.problems.count == 1)
        #expect(scrape.problems.first?.collector == "clamd")
        #expect(scrape.problems.first?.message == "clamd broke")
        #expect(scrape.started == 1000)
        // Collector meta families come after the collectors' own, in this order.
        #expect(scrape.families.map(\.name) == [
            "virus_scan_queue_files", "clamav_up", "virus_scan_collector_success", "virus_scan_collector_duration_seconds",
            "virus_scan_exporter_build_info",
        ])
    }

    @Test func concurrentScrapesShareOneRunInFlight() async {
        let slow = ScriptedCollector(name: "queue", delay: .milliseconds(400))
        let scraper = Scraper(collectors: [slow])
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<10 {
                group.addTask { _ = await scraper.scrape() }
            }
        }
        #expect(slow.calls.load(ordering: .relaxed) == 1)
        #expect(scraper.scrapesRun == 1)
        // Once it has finished, the next scrape runs afresh (no stale cache).
        _ = await scraper.scrape()
        #expect(slow.calls.load(ordering: .relaxed) == 2)
    }

    /// Both collectors are in flight at the same time (measured by overlap, not by wall time, which a
    /// loaded CI machine would make flaky).
    @Test func collectorsRunConcurrently() async {
        let overlap = ScriptedCollector.Overlap()
        let a = ScriptedCollector(name: "a", delay: .milliseconds(300), overlap: overlap)
        let b = ScriptedCollector(name: "b", delay: .milliseconds(300), overlap: overlap)
        let scraper = Scraper(collectors: [a, b])
        _ = await scraper.scrape()
        #expect(overlap.most.load(ordering: .sequentiallyConsistent) == 2)
        #expect(a.calls.load(ordering: .relaxed) == 1)
        #expect(b.calls.load(ordering: .relaxed) == 1)
    }
}
