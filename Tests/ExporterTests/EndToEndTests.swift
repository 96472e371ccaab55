import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import ScanCore
import ScanCoreTestSupport
import Testing

@testable import exporter

/// The exporter against real peers: a real pipeline tree, a real clamd, a real Prometheus server.
@Suite("End to end with real peers", .serialized, .timeLimit(.minutes(2)))
struct EndToEndTests {
    @Test func realScrapeHasTheRightValues() async throws {
        let pipeline = try RealPipeline()
        let text = try await withRunningExporter(pipeline.configuration) { port in try await httpGet(port: port, "/metrics").text }
        let s = parseSamples(text)
        #expect(s["virus_scan_queue_files{queue=\"incoming\"}"] == 3)
        #expect(s["virus_scan_queue_files{queue=\"draft-incoming\"}"] == 1)
        #expect(s["virus_scan_queue_bytes{queue=\"incoming\"}"] == 3500)
        #expect(s["virus_scan_queue_file_age_seconds_bucket{queue=\"incoming\",le=\"600\"}"] == 1)
        #expect(s["virus_scan_queue_file_age_seconds_bucket{queue=\"incoming\",le=\"1200\"}"] == 2)
        #expect(s["virus_scan_queue_file_age_seconds_bucket{queue=\"incoming\",le=\"+Inf\"}"] == 3)
        #expect(s["virus_scan_processed_total{queue=\"incoming\",verdict=\"clean\"}"] == 2)
        #expect(s["virus_scan_processed_total{queue=\"incoming\",verdict=\"infected\"}"] == 1)
        #expect(s["virus_scan_outcome_files{queue=\"incoming\",outcome=\"clean\"}"] == 2)
        #expect(s["virus_scan_wait_seconds_count{queue=\"incoming\"}"] == 3)
        #expect(s["clamav_up"] == 1)
        #expect(s["clamav_database_version{database=\"daily\",source=\"loaded\"}"] == Double(RealPipeline.dailyVersion))
        #expect(s["clamav_database_version{database=\"daily\",source=\"disk\"}"] == Double(RealPipeline.dailyVersion))
        #expect(s["clamav_database_build_timestamp_seconds{database=\"daily\",source=\"disk\"}"] == Double(RealPipeline.dailyBuilt))
        #expect(s["clamav_database_build_timestamp_seconds{database=\"daily\",source=\"loaded\"}"] == Double(RealPipeline.dailyBuilt))
        #expect((s["clamav_database_signatures{database=\"daily\"}"] ?? 0) > 0)
        #expect(s["clamav_threads{state=\"max\"}"] == 2)
        #expect(s["clamav_queue_items"] == 0)
        #expect(s.keys.contains { $0.hasPrefix("clamav_build_info{version=\"") })
        #expect(s["virus_scan_rescan_running"] == 0)
        for collector in ["queue", "outcome", "journal", "clamd", "signatures", "rescan"] {
            #expect(s["virus_scan_collector_success{collector=\"\(collector)\"}"] == 1, "\(collector)")
            #expect(s["virus_scan_collector_duration_seconds{collector=\"\(collector)\"}"] != nil, "\(collector)")
        }
        let lint = try runProgram("/usr/bin/promtool", ["check", "metrics"], input: text)
        #expect(lint.status == 0 && lint.stderr.isEmpty, "\(lint.stderr)")
    }

    @Test func clamdDownIsUpZeroNotAFailedScrape() async throws {
        let pipeline = try RealPipeline()
        pipeline.clamd.stop()
        let text = try await withRunningExporter(pipeline.configuration) { port in try await httpGet(port: port, "/metrics").text }
        let s = parseSamples(text)
        #expect(s["clamav_up"] == 0)
        #expect(s["clamav_ping_duration_seconds"] == nil)
        #expect(s["virus_scan_collector_success{collector=\"clamd\"}"] == 1)
        #expect(s["virus_scan_queue_files{queue=\"incoming\"}"] == 3)
        #expect(s["clamav_database_version{database=\"daily\",source=\"loaded\"}"] == nil)
    }

    @Test func realPrometheusServerScrapesTheExporter() async throws {
        let pipeline = try RealPipeline()
        try await withRunningExporter(pipeline.configuration) { exporterPort in
            let prometheus = try PrometheusServer(target: "127.0.0.1:\(exporterPort)", rules: repositoryRoot + "/prometheus/alerts.yml")
            try await prometheus.start()
            defer { prometheus.stop() }
            // Wait for the first scrapes.
            #expect(try await eventually(timeout: .seconds(30)) { try await prometheus.query("up{job=\"virus_scan\"}").first?.value == 1 })
            let files = try await prometheus.query("virus_scan_queue_files")
            #expect(files.count == 2)
            #expect(files.first { $0.labels["queue"] == "incoming" }?.value == 3)
            #expect(files.first { $0.labels["queue"] == "draft-incoming" }?.value == 1)
            #expect(files.first?.labels["job"] == "virus_scan")
            #expect(files.first?.labels["instance"] == "127.0.0.1:\(exporterPort)")
            #expect(try await prometheus.query("clamav_up").first?.value == 1)
            #expect(try await prometheus.query("clamav_database_version{source=\"loaded\"}").first?.value == Double(RealPipeline.dailyVersion))
            #expect(try await prometheus.query("sum(virus_scan_processed_total{queue=\"incoming\"})").first?.value == 3)
            #expect(try await prometheus.query("virus_scan_processed_total{verdict=\"infected\",queue=\"incoming\"}").first?.value == 1)
            #expect(try await prometheus.query("min(virus_scan_collector_success)").first?.value == 1)
            // The histogram works with histogram_quantile as the alert uses it (no rate: one scrape's buckets).
            let p90 = try await prometheus.query("histogram_quantile(0.9, sum by (le) (virus_scan_queue_file_age_seconds_bucket{queue=\"incoming\"}))")
            #expect(p90.first.map { $0.value > 1200 && $0.value <= 2400 } == true)
            // Files waiting longer than 20 min, as the dashboard computes it.
            let older = try await prometheus.query(
                "virus_scan_queue_file_age_seconds_count{queue=\"incoming\"} - ignoring (le) virus_scan_queue_file_age_seconds_bucket{queue=\"incoming\",le=\"1200\"}")
            #expect(older.first?.value == 1)
            // Signatures are fresh relative to the fixture's build time? No: the fixture is from 2025, so the
            // alert expression is true now; the rules load and evaluate without errors.
            let rules = try await prometheus.rulesHealth()
            #expect(rules.count == 17)  // 14 + the pool alerts (ClamdPoolMemberDown, VirusScanClamdUnreachable, ClamdDatabaseVersionSkew)
            #expect(rules.allSatisfy { $0 == "ok" || $0 == "unknown" }, "\(rules)")
            // More scrapes over time: samples keep arriving (scrape interval 1 s).
            #expect(try await eventually(timeout: .seconds(20)) {
                try await prometheus.query("count_over_time(clamav_up[1m])").first.map { $0.value >= 3 } == true
            })
        }
    }
}

/// A throw-away Prometheus server (Debian's `prometheus`) on loopback, scraping one target every second.
final class PrometheusServer: @unchecked Sendable {
    let directory: String
    let port: Int
    private var process: ChildProcess?

    struct Series { var labels: [String: String]; var value: Double }

    init(target: String, rules: String?) throws {
        directory = NSTemporaryDirectory() + "vse-prom-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory + "/data", withIntermediateDirectories: true)
        port = try freeLoopbackPort()
        var config = """
            global:
              scrape_interval: 1s
              scrape_timeout: 1s
              evaluation_interval: 1s
            scrape_configs:
              - job_name: virus_scan
                static_configs:
                  - targets: ['\(target)']

            """
        if let rules {
            try FileManager.default.copyItem(atPath: rules, toPath: directory + "/alerts.yml")
            config += "rule_files:\n  - alerts.yml\n"
        }
        try config.write(toFile: directory + "/prometheus.yml", atomically: true, encoding: .utf8)
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    func start() async throws {
        self.process = try ChildProcess(
            "/usr/bin/prometheus",
            [
                "--config.file=\(directory)/prometheus.yml", "--storage.tsdb.path=\(directory)/data",
                "--web.listen-address=127.0.0.1:\(port)", "--log.level=warn",
            ],
            workingDirectory: directory)
        let port = self.port
        guard try await eventually(timeout: .seconds(30), {
            guard loopbackAccepts(port) else { return false }
            return (try? RawHTTP.request(port: port, "GET /-/ready HTTP/1.0\r\nHost: x\r\n\r\n", timeout: 5))?.hasPrefix("HTTP/1.0 200") == true
        }) else { throw CarbonError(message: "prometheus did not get ready on 127.0.0.1:\(port)") }
    }

    func stop() {
        guard let process else { return }
        stopChild(process)
        self.process = nil
    }

    private func api(_ path: String) async throws -> [String: Any] {
        // HTTP/1.0: Prometheus closes the connection after the body (no chunking).
        let reply = try RawHTTP.request(port: port, "GET \(path) HTTP/1.0\r\nHost: x\r\n\r\n", timeout: 10)
        let body = reply.range(of: "\r\n\r\n").map { String(reply[$0.upperBound...]) } ?? ""
        let object = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
        guard let object, object["status"] as? String == "success" else {
            throw CarbonError(message: "prometheus API \(path): \(reply)")
        }
        return object
    }

    /// `/api/v1/query` (instant vector results).
    func query(_ promql: String) async throws -> [Series] {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        let encoded = promql.addingPercentEncoding(withAllowedCharacters: allowed) ?? promql
        let object = try await api("/api/v1/query?query=\(encoded)")
        let data = object["data"] as? [String: Any]
        let result = data?["result"] as? [[String: Any]] ?? []
        return result.compactMap { item in
            guard let metric = item["metric"] as? [String: String], let value = item["value"] as? [Any], value.count == 2,
                let text = value[1] as? String, let number = Double(text)
            else { return nil }
            return Series(labels: metric, value: number)
        }
    }

    /// The health of every loaded rule (`/api/v1/rules`).
    func rulesHealth() async throws -> [String] {
        let object = try await api("/api/v1/rules")
        let groups = (object["data"] as? [String: Any])?["groups"] as? [[String: Any]] ?? []
        return groups.flatMap { ($0["rules"] as? [[String: Any]] ?? []).compactMap { $0["health"] as? String } }
    }
}
