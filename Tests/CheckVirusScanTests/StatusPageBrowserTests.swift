import Foundation
import ScanCore
import ScanCoreTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The status page from the real exporter binary over a real pipeline: a stuck queue holding a file
/// with a hostile name, a year-old signature database, a real clamd that loaded it and was then
/// stopped. Headless Chromium (Debian's `chromium`) renders it; the test reads the DOM and saves a
/// screenshot (copied to `VIRUS_SCAN_SCREENSHOT` when set: how docs/status-page.png is made).
@Suite("Status page in a real browser", .serialized, .timeLimit(.minutes(4)))
struct StatusPageBrowserTests {
    static let hostile = "<script>alert(1)</script>.pdf"

    /// The pipeline, the stopped clamd and the running exporter.
    final class Setup: @unchecked Sendable {
        let tree: TemporaryTree
        let clamd: ClamdProcess
        let config: String
        let exporter: ChildProcess
        let port: UInt16

        init() throws {
            tree = try TemporaryTree(prefix: "vsstatus")
            let plain = tree.path("plain-db")
            try tree.directory("plain-db")
            try SignatureFixtures.writeSmall(to: plain)
            // The daily database as clamd loads it, built a year before the tests run.
            clamd = try ClamdProcess(.init()) { dir in
                try DatabaseContainer.write(from: plain, to: dir + "/daily.cud", version: 27400)
            }
            clamd.stop()
            // The same database on disk, where the page and the check read its header (clamd's own
            // directory goes with it).
            try tree.directory("db")
            try DatabaseContainer.write(from: plain, to: tree.path("db") + "/daily.cud", version: 27400)
            for queue in ["incoming", "clean", "infected", "draft-incoming", "draft-clean", "draft-infected", "state"] { try tree.directory(queue) }
            let now = WallClock.now()
            // incoming: stuck (two hours old, nothing processed); its oldest file has a hostile name.
            try tree.file("incoming/" + StatusPageBrowserTests.hostile, size: 1200, mtime: now - 7300)
            try tree.file("incoming/2026/report.pdf", size: 4000, mtime: now - 7000)
            try tree.file("incoming/2026/minutes.odt", size: 800, mtime: now - 30)
            config = tree.path("virus-scan.yml")
            try Data("""
                root: \(tree.root)
                state_dir: state
                list_dir: lists
                thresholds:
                  backlog: {warning: 100, critical: 500}
                  age: {warning: 3h, critical: 6h}
                  stuck: {window: 30m}

                """.utf8).write(to: URL(fileURLWithPath: config))
            port = try ClamdProcess.freeLoopbackPort()
            exporter = try ChildProcess(Plugin.exporterBinary, [
                "--config", config, "--socket", clamd.socketPath, "--database-dir", tree.path("db"),
                "--lock", tree.path("rescan.lock"), "--web.listen-address", "127.0.0.1:\(port)", "--status.interval", "1",
            ])
        }

        deinit { exporter.stop() }

        /// Waits until the exporter answers and its charts hold a few samples.
        func waitUntilServing() throws {
            let deadline = WallClock.now() + 60
            while WallClock.now() < deadline {
                if let json = try? fetch("/status.json"), let status = try? JSONDecoder().decode(PipelineStatus.self, from: Data(json.utf8)),
                   status.history.count >= 3 {
                    return
                }
                usleep(200_000)
            }
            throw FixtureError("the exporter did not serve /status.json with 3 samples within 60 s")
        }

        func fetch(_ path: String) throws -> String {
            let result = try ChildProcess.run("/usr/bin/curl", ["-sS", "--max-time", "30", "http://127.0.0.1:\(port)\(path)"], timeout: 40)
            guard result.exitCode == 0 else { throw FixtureError("curl \(path): \(result.stderr)") }
            return result.stdout
        }

        var url: String { "http://127.0.0.1:\(port)/" }
    }

    static func chromium(_ arguments: [String]) throws -> ChildProcess.Result {
        let profile = try ClamdProcess.makeTemporaryDirectory(prefix: "vschrome")
        defer { ClamdProcess.removeDirectory(profile) }
        return try ChildProcess.run(
            "/usr/bin/chromium",
            ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-dev-shm-usage", "--user-data-dir=\(profile)"] + arguments,
            timeout: 120, environment: ["HOME": profile, "PATH": "/usr/bin:/bin"])
    }

    @Test func chromiumShowsTheProblemsTheirCommandsTheHostileNameAndTheCharts() throws {
        let setup = try Setup()
        try setup.waitUntilServing()
        let dump = try Self.chromium(["--dump-dom", setup.url])
        #expect(dump.exitCode == 0, "\(dump.stderr)")
        let dom = dump.stdout
        // The three problems, each with its command.
        #expect(dom.contains("<li class=\"problem state-critical\" data-mode=\"stuck\" data-queue=\"incoming\">"), "\(dom)")
        #expect(dom.contains("<li class=\"problem state-critical\" data-mode=\"clamd\">"))
        #expect(dom.contains("<li class=\"problem state-critical\" data-mode=\"signatures\">"))
        #expect(dom.contains("<code>check_virus_scan drain --queue incoming --config \(setup.config) --socket \(setup.clamd.socketPath)</code>"))
        #expect(dom.contains("<code>check_virus_scan restart-clamd --socket \(setup.clamd.socketPath)</code>"))
        #expect(dom.contains("<code>freshclam &amp;&amp; check_virus_scan restart-clamd --socket \(setup.clamd.socketPath)</code>"))
        #expect(dom.contains("daily 27400 is ") && dom.contains(" old (critical above 7d)"))
        // The age threshold is the layout file's (3h/6h): two hours is OK, so it is not a problem.
        #expect(!dom.contains("data-mode=\"age\" data-queue"))
        // The hostile file name is text: escaped in the DOM, no script element anywhere.
        #expect(dom.contains("&lt;script&gt;alert(1)&lt;/script&gt;.pdf"))
        #expect(!dom.contains("<script"))
        // Both charts, the backlog one drawn from the ring (3 files waiting at each sample).
        #expect(dom.contains("id=\"queue-incoming-backlog\""))
        #expect(dom.contains("id=\"queue-incoming-wait\""))
        #expect(dom.contains("Backlog of incoming, last 24 hours (files): now 3, min 3, max 3 over"))
        #expect(dom.contains("<polyline class=\"line\""))

        let shot = setup.tree.path("status-page.png")
        let screenshot = try Self.chromium(["--screenshot=\(shot)", "--window-size=1280,1900", "--hide-scrollbars", setup.url])
        #expect(screenshot.exitCode == 0, "\(screenshot.stderr)")
        let png = try Data(contentsOf: URL(fileURLWithPath: shot))
        #expect(png.prefix(8) == Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]))
        #expect(png.count > 20_000)
        if let keep = ProcessInfo.processInfo.environment["VIRUS_SCAN_SCREENSHOT"], !keep.isEmpty {
            try png.write(to: URL(fileURLWithPath: keep))
        }
    }

    @Test func pageHeadersForbidEverythingButItsOwnStylesheet() throws {
        let setup = try Setup()
        try setup.waitUntilServing()
        let head = try ChildProcess.run("/usr/bin/curl", ["-sS", "-D", "-", "-o", "/dev/null", setup.url], timeout: 40)
        let headers = head.stdout.lowercased()
        #expect(headers.contains("content-security-policy: default-src 'none'; style-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"))
        #expect(headers.contains("x-content-type-options: nosniff"))
        #expect(headers.contains("content-type: text/html; charset=utf-8"))
        let css = try setup.fetch("/status.css")
        #expect(css.contains(".badge"))
        let refreshed = try setup.fetch("/?refresh=30")
        #expect(refreshed.contains("<meta http-equiv=\"refresh\" content=\"30\">"))
        #expect(!(try setup.fetch("/")).contains("http-equiv=\"refresh\""))
    }

    /// `/status.json` against the check run on the same tree with the same layout file: every
    /// part's state is the check's state for that mode.
    @Test func statusJSONAgreesWithTheCheck() throws {
        let setup = try Setup()
        try setup.waitUntilServing()
        let status = try JSONDecoder().decode(PipelineStatus.self, from: Data(try setup.fetch("/status.json").utf8))
        #expect(status.thresholds == "layout file")
        let common = ["--config", setup.config]
        var compared = 0
        for queue in status.queues {
            for part in queue.parts {
                let run = try Plugin.run([part.mode, "--queue", queue.name] + common)
                #expect(run.statusLine.hasPrefix("VIRUS_SCAN \(part.state) - "), "\(part.mode) \(queue.name): page \(part.state), check \(run.statusLine)")
                compared += 1
            }
        }
        let clamd = try Plugin.run(["clamd", "--socket", setup.clamd.socketPath, "--clamd-config", "none"] + common)
        let signatures = try Plugin.run(["signatures", "--socket", setup.clamd.socketPath, "--database-dir", setup.tree.path("db")] + common)
        for (mode, run) in [("clamd", clamd), ("signatures", signatures)] {
            let part = try #require(status.services.first { $0.mode == mode })
            #expect(run.statusLine.hasPrefix("VIRUS_SCAN \(part.state) - "), "\(mode): page \(part.state), check \(run.statusLine)")
            compared += 1
        }
        #expect(compared == 12)
        let incoming = try #require(status.queues.first { $0.name == "incoming" })
        #expect(incoming.parts.map(\.state) == ["OK", "OK", "OK", "CRITICAL", "OK"])
        #expect(incoming.files == 3)
        #expect(incoming.oldest.first?.path == Self.hostile)
    }
}
