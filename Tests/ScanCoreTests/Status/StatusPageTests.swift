import Foundation
import ScanCore
import ScanCoreTestSupport
import Testing

@Suite("Status page: thresholds, gathering, rendering")
struct StatusPageTests {
    @Test func thresholdsSectionOverlaysTheRecommendedValues() throws {
        let parsed = try PipelineThresholds.parse([
            "backlog": ["warning": "5", "critical": "50"],
            "wait": ["percentile": "99", "window": "5m"],
            "stuck": ["window": "1h"],
        ])
        #expect(parsed.backlog.warning?.text == "5")
        #expect(parsed.backlog.critical?.text == "50")
        #expect(parsed.waitPercentile == 99)
        #expect(parsed.waitWindow == 300)
        #expect(parsed.stuckWindow == 3600)
        // Left out: the recommended values.
        #expect(parsed.age == PipelineThresholds.recommended.age)
        #expect(parsed.infectedWindow == 86400)
    }

    @Test func thresholdsSectionErrorsNameTheKey() {
        #expect(throws: CheckError.self) { try PipelineThresholds.parse(["backlogg": ["warning": "5"]]) }
        do {
            _ = try PipelineThresholds.parse(["age": ["warning": "ten minutes"]])
            Issue.record("a bad range was accepted")
        } catch {
            #expect(error.message.hasPrefix("thresholds.age.warning: 'ten minutes' is not a valid range"))
        }
        do {
            _ = try PipelineThresholds.parse(["wait": ["windw": "5m"]])
            Issue.record("an unknown key was accepted")
        } catch {
            #expect(error.message == "thresholds.wait: unknown key 'windw' (one of warning, critical, percentile, window)")
        }
    }

    @Test func layoutFileCarriesTheThresholds() throws {
        let tree = try TemporaryTree()
        let config = tree.path("layout.yml")
        try Data("root: \(tree.root)\nthresholds:\n  backlog:\n    warning: 7\n    critical: 70\n  age:\n    critical: 2h\n".utf8)
            .write(to: URL(fileURLWithPath: config))
        let layout = try PipelineLayout.load(configFile: config, root: nil)
        #expect(layout.thresholds?.backlog.warning?.text == "7")
        #expect(layout.thresholds?.age.critical?.end == 7200)
        try Data("root: \(tree.root)\nthresholds:\n  backlog:\n    warnin: 7\n".utf8).write(to: URL(fileURLWithPath: config))
        #expect(throws: PipelineError.self) { try PipelineLayout.load(configFile: config, root: nil) }
    }

    @Test func hostileNamesAreEscapedEverywhere() {
        let name = "<script>alert(1)</script>\"'&.pdf"
        var report = CheckReport(results: [CheckResult(.critical, "oldest waiting file: incoming/\(name)")])
        report.details = ["  \(name)"]
        let status = PipelineStatus(
            generated: 1_700_000_000, thresholds: "layout file",
            queues: [QueueStatus(name: "incoming", directory: "/x/<b>", files: 1, bytes: 10, oldestAge: 7200,
                                 oldest: [WaitingEntry(path: name, age: 7200, size: 10)], waitPercentile: nil,
                                 parts: [StatusPart(mode: "age", queue: "incoming", report: report,
                                                    runbook: RunbookStep(meaning: "m <i>", command: "check_virus_scan drain --queue '\(name)'"))])],
            services: [])
        let html = StatusPage.render(status)
        #expect(!html.contains("<script"))
        #expect(!html.contains("<b>"))
        #expect(!html.contains("<i>"))
        #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;.pdf"))
        #expect(html.contains("<pre class=\"command\"><code>check_virus_scan drain --queue &#39;&lt;script&gt;"))
        #expect(StatusPage.escape("a&b<c>d\"e'f") == "a&amp;b&lt;c&gt;d&quot;e&#39;f")
    }

    @Test func chartsDrawTheRingAndSayWhenEmpty() {
        let history = StatusHistory(capacity: 3)
        for minute in 0..<5 {
            history.append(StatusSample(time: Double(minute) * 60, backlog: ["incoming": minute * 10], wait: [:]))
        }
        #expect(history.samples.map(\.time) == [120, 180, 240])
        let status = PipelineStatus(
            generated: 240, thresholds: "layout file",
            queues: [QueueStatus(name: "incoming", directory: "/q", files: 40, bytes: 0, oldestAge: nil, oldest: [], waitPercentile: nil, parts: [])],
            services: [], history: history.samples)
        let html = StatusPage.render(status)
        #expect(html.contains("<figure class=\"chart\" id=\"queue-incoming-backlog\">"))
        #expect(html.contains("<figure class=\"chart\" id=\"queue-incoming-wait\">"))
        // Three points: x from the left margin to the right edge, y from 20 (of max 40) up to the top.
        #expect(html.contains("<polyline class=\"line\" points=\"36,74 254,41 472,8\"/>"))
        #expect(html.contains("now 40, min 20, max 40 over 3 points"))
        #expect(html.contains("Wait of incoming, last 24 hours: no data yet"))
    }

    @Test func everySourceFailingStillGivesAPageThatSaysWhy() throws {
        let tree = try TemporaryTree()
        try tree.directory("state")
        // The rescan state is garbage, the queue directories do not exist, clamd does not listen,
        // the database directory is missing.
        try Data("{not json".utf8).write(to: URL(fileURLWithPath: tree.path("state/rescan-state.json")))
        var layout = PipelineLayout.standard(root: tree.root)
        layout.stateDirectory = tree.path("state")
        let sources = StatusSources(
            layout: layout, queues: layout.queues, clamd: ClamdClient(endpoint: .unix(path: tree.path("no.sock"))),
            databaseDirectory: tree.path("no-db"), rescanLock: tree.path("rescan.lock"),
            commandOptions: ["--root", tree.root], clamdOptions: ["--socket", tree.path("no.sock")])
        let status = StatusGatherer.gather(sources, now: WallClock.now())
        #expect(status.state == "CRITICAL")
        #expect(status.thresholds == "built-in (recommended)")
        let backlog = try #require(status.queues.first?.parts.first { $0.mode == "backlog" })
        #expect(backlog.state == "CRITICAL")
        #expect(backlog.summary.contains(tree.path("incoming")))
        #expect(status.queues.first?.files == nil)
        let clamd = try #require(status.services.first { $0.mode == "clamd" })
        #expect(clamd.state == "CRITICAL")
        #expect(clamd.runbook?.command == "check_virus_scan restart-clamd --socket \(tree.path("no.sock"))")
        let signatures = try #require(status.services.first { $0.mode == "signatures" })
        #expect(signatures.state == "CRITICAL")
        #expect(signatures.summary.contains(tree.path("no-db")))
        let rescan = try #require(status.services.first { $0.mode == "rescan" })
        #expect(rescan.state == "UNKNOWN")
        #expect(rescan.summary.hasPrefix("not available: "))
        #expect(rescan.summary.contains("rescan-state.json"))
        let html = StatusPage.render(status)
        #expect(html.contains("data-mode=\"rescan\""))
        let json = try JSONDecoder().decode(PipelineStatus.self, from: JSONEncoder().encode(status))
        #expect(json == status)
    }
}
