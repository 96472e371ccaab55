import ArgumentParser
import Foundation
import Logging
import ScanCore
import ScanCoreTestSupport
import Testing

@testable import exporter

/// The exporter over a pool of two real clamd daemons (one over its unix socket, one over TCP,
/// different daily versions): every clamd family carries `endpoint`, a stopped daemon is
/// `clamav_up{endpoint=…} 0` beside the other's 1, and the status page has a row per daemon.
@Suite("Exporter over a clamd pool", .serialized, .timeLimit(.minutes(2)),
       .enabled(if: FileManager.default.isExecutableFile(atPath: ClamdProcess.executable)))
struct ClamdPoolExporterTests {
    /// The clamd collector's families (clamav_* less the disk-only ones the signatures collector writes).
    static let clamdFamilies = ["clamav_up", "clamav_ping_duration_seconds", "clamav_build_info", "clamav_database_build_timestamp_seconds",
                                "clamav_threads", "clamav_queue_items", "clamav_memory_bytes", "clamav_active_tasks", "clamav_longest_scan_seconds"]

    static func daemon(version: Int, tcp: Bool) throws -> ClamdProcess {
        let plain = FileManager.default.temporaryDirectory.appendingPathComponent("vse-pool-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: plain, withIntermediateDirectories: true)
        try SignatureFixtures.writeSmall(to: plain)
        defer { try? FileManager.default.removeItem(atPath: plain) }
        return try ClamdProcess(.init(tcp: tcp)) { dir in
            try DatabaseContainer.write(from: plain, to: dir + "/daily.cud", version: version)
        }
    }

    /// The sample lines of `text` (no comments).
    static func sampleLines(_ text: String) -> [String] {
        text.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("#") }
    }

    @Test func everyClamdFamilyIsLabelledByEndpointAndADownDaemonIsZero() async throws {
        let a = try Self.daemon(version: 27400, tcp: false)
        let b = try Self.daemon(version: 27401, tcp: true)
        let tree = try PipelineTree()
        let unix = "unix:\(a.socketPath)"
        let tcp = "tcp:127.0.0.1:\(b.tcpPort!)"
        let command = try Exporter.parse([
            "--root", tree.root, "--state-dir", tree.root + "/state", "--tcp", "127.0.0.1:\(b.tcpPort!)", "--socket", a.socketPath,
            "--database-dir", a.directory + "/db", "--lock", tree.root + "/rescan.lock",
        ])
        var config = ExporterConfiguration()
        config.headerTimeout = .seconds(120)
        config.scrapeTimeout = .seconds(120)
        config.collectors = try command.pipeline.makeCollectors()

        let text = try await withRunningExporter(config) { port in try await httpGet(port: port, "/metrics").text }
        let lint = try runProgram("/usr/bin/promtool", ["check", "metrics"], input: text)
        #expect(lint.status == 0 && lint.stdout.isEmpty && lint.stderr.isEmpty, "promtool check metrics: \(lint.stdout)\(lint.stderr)")
        let s = parseSamples(text)
        #expect(s["clamav_up{endpoint=\"\(unix)\"}"] == 1, "\(text)")
        #expect(s["clamav_up{endpoint=\"\(tcp)\"}"] == 1)
        #expect(s["clamav_up"] == nil)
        #expect(s["clamav_pool_endpoints"] == 2)
        #expect(s["clamav_pool_up_endpoints"] == 2)
        #expect(s["clamav_database_version{endpoint=\"\(unix)\",database=\"daily\",source=\"loaded\"}"] == 27400)
        #expect(s["clamav_database_version{endpoint=\"\(tcp)\",database=\"daily\",source=\"loaded\"}"] == 27401)
        #expect(s["clamav_database_version{database=\"daily\",source=\"disk\"}"] == 27400)
        #expect(s["clamav_threads{endpoint=\"\(tcp)\",state=\"max\"}"] == 2)
        #expect(s["clamav_queue_items{endpoint=\"\(unix)\"}"] == 0)
        #expect(s["clamav_active_tasks{endpoint=\"\(tcp)\"}"] == 0)
        #expect(s["clamav_longest_scan_seconds{endpoint=\"\(unix)\"}"] == 0)
        #expect(s["virus_scan_collector_success{collector=\"clamd\"}"] == 1)
        // Every sample of every clamd family names its endpoint, and both endpoints appear in each.
        let lines = Self.sampleLines(text)
        for family in Self.clamdFamilies {
            // (clamav_database_build_timestamp_seconds{source="disk"} is the signatures collector's: no endpoint)
            let samples = lines.filter { ($0.hasPrefix(family + "{") || $0.hasPrefix(family + " ")) && !$0.contains("source=\"disk\"") }
            #expect(!samples.isEmpty, "\(family) missing")
            for line in samples { #expect(line.hasPrefix("\(family){endpoint=\"\(unix)\"") || line.hasPrefix("\(family){endpoint=\"\(tcp)\""), "\(line)") }
            #expect(samples.contains { $0.contains(unix) } && samples.contains { $0.contains(tcp) }, "\(family): \(samples)")
        }
        for line in lines where line.hasPrefix("clamav_database_version{") && line.contains("source=\"loaded\"") {
            #expect(line.hasPrefix("clamav_database_version{endpoint=\""), "\(line)")
        }

        b.stop()
        let down = try await withRunningExporter(config) { port in try await httpGet(port: port, "/metrics").text }
        let d = parseSamples(down)
        #expect(d["clamav_up{endpoint=\"\(unix)\"}"] == 1, "\(down)")
        #expect(d["clamav_up{endpoint=\"\(tcp)\"}"] == 0)
        #expect(d["clamav_pool_endpoints"] == 2)
        #expect(d["clamav_pool_up_endpoints"] == 1)
        #expect(d["clamav_ping_duration_seconds{endpoint=\"\(tcp)\"}"] == nil)
        #expect(d["clamav_ping_duration_seconds{endpoint=\"\(unix)\"}"] != nil)
        #expect(d["clamav_database_version{endpoint=\"\(unix)\",database=\"daily\",source=\"loaded\"}"] == 27400)
        #expect(d["clamav_database_version{endpoint=\"\(tcp)\",database=\"daily\",source=\"loaded\"}"] == nil)
        #expect(d["virus_scan_collector_success{collector=\"clamd\"}"] == 1)
        let downLint = try runProgram("/usr/bin/promtool", ["check", "metrics"], input: down)
        #expect(downLint.status == 0 && downLint.stdout.isEmpty && downLint.stderr.isEmpty, "\(downLint.stdout)\(downLint.stderr)")

        // The status page: one clamd row per daemon, the stopped one CRITICAL with its own restart command.
        let status = StatusGatherer.gather(try command.pipeline.statusSources(), now: WallClock.now())
        let clamdParts = status.services.filter { $0.mode == "clamd" }
        #expect(clamdParts.map(\.endpoint) == [unix, tcp])
        #expect(clamdParts.map(\.state) == ["OK", "CRITICAL"])
        #expect(clamdParts[1].runbook?.command == "check_virus_scan restart-clamd --tcp 127.0.0.1:\(b.tcpPort!)")
        let signatures = try #require(status.services.first { $0.mode == "signatures" })
        #expect(signatures.state == "CRITICAL", "\(signatures)")
        // (the fixture's database is old as well: its age is CRITICAL too, listed first)
        #expect(signatures.summary.contains("; 1 of 2 clamd answer, fewer than --min-up 2: \(tcp) is down (connection refused)"), "\(signatures.summary)")
        let html = StatusPage.render(status)
        #expect(html.contains("<th scope=\"row\">clamd <code>\(unix)</code></th>"), "\(html)")
        #expect(html.contains("<th scope=\"row\">clamd <code>\(tcp)</code></th>"))
    }

    /// The exporter reads the layout file's clamd.endpoints as the check does; --socket/--tcp replace it.
    @Test func layoutFileListIsThePoolAndTheCommandLineReplacesIt() throws {
        let tree = try PipelineTree()
        let config = tree.root + "/virus-scan.yml"
        try "root: \(tree.root)\nstate_dir: \(tree.root)/state\nclamd:\n  endpoints: [\"unix:/run/clamav/clamd.ctl\", \"tcp:10.0.0.5:3310\"]\n"
            .write(toFile: config, atomically: true, encoding: .utf8)
        let configured = try Exporter.parse(["--config", config])
        #expect(try configured.pipeline.clamdPool(try configured.pipeline.layout()).endpoints == [.unix(path: "/run/clamav/clamd.ctl"), .tcp(host: "10.0.0.5", port: 3310)])
        let given = try Exporter.parse(["--config", config, "--tcp", "10.0.0.9:3310"])
        #expect(try given.pipeline.clamdPool(try given.pipeline.layout()).endpoints == [.tcp(host: "10.0.0.9", port: 3310)])
        let status = try configured.pipeline.statusSources()
        #expect(status.clamdPool.map(\.endpoint.description) == ["unix:/run/clamav/clamd.ctl", "tcp:10.0.0.5:3310"])
        #expect(status.clamdOptions == ["--socket", "/run/clamav/clamd.ctl"])
    }

    @Test func oneDaemonStaysUnlabelledUnlessAsked() async throws {
        let a = try Self.daemon(version: 27400, tcp: false)
        let tree = try PipelineTree()
        func scrape(_ extra: [String]) async throws -> [String: Double] {
            let command = try Exporter.parse(["--root", tree.root, "--state-dir", tree.root + "/state", "--socket", a.socketPath,
                                              "--database-dir", a.directory + "/db", "--lock", tree.root + "/rescan.lock"] + extra)
            var config = ExporterConfiguration()
            config.headerTimeout = .seconds(120)
            config.scrapeTimeout = .seconds(120)
            config.collectors = try command.pipeline.makeCollectors()
            return parseSamples(try await withRunningExporter(config) { port in try await httpGet(port: port, "/metrics").text })
        }
        let plain = try await scrape([])
        #expect(plain["clamav_up"] == 1)
        #expect(plain["clamav_pool_endpoints"] == nil)
        let labelled = try await scrape(["--clamd.endpoint-label"])
        #expect(labelled["clamav_up"] == nil)
        #expect(labelled["clamav_up{endpoint=\"unix:\(a.socketPath)\"}"] == 1)
        #expect(labelled["clamav_pool_endpoints"] == 1)
        #expect(labelled["clamav_pool_up_endpoints"] == 1)
    }
}
