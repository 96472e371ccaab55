import ArgumentParser
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import ScanCore
import ScanCoreTestSupport
import Testing

@testable import exporter

@Suite("Exporter HTTP app")
struct ExporterAppTests {
    func config(_ tree: PipelineTree) -> ExporterConfiguration {
        var config = ExporterConfiguration()
        // These tests check what is served, not the deadlines (AbuseTests do): on a loaded CI machine a
        // keep-alive client can pause over 5 s between requests, and a walk can take over 8 s.
        config.headerTimeout = .seconds(120)
        config.scrapeTimeout = .seconds(120)
        config.collectors = [
            QueueCollector(queues: tree.layout.queues),
            OutcomeCollector(queues: tree.layout.queues, tracker: ProcessedTracker(countSince: WallClock.now() - 5)),
        ]
        return config
    }

    @Test func metricsHasTheExpositionContentTypeAndFreshValues() async throws {
        let tree = try PipelineTree()
        try tree.file("incoming/a.pdf", size: 7, age: 120)
        let app = buildApplication(config: config(tree))
        try await app.test(.router) { client in
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/plain; version=0.0.4; charset=utf-8")
                let samples = parseSamples(String(buffer: response.body))
                #expect(samples["virus_scan_queue_files{queue=\"incoming\"}"] == 1)
                #expect(samples["virus_scan_queue_bytes{queue=\"incoming\"}"] == 7)
                #expect(samples["virus_scan_collector_success{collector=\"queue\"}"] == 1)
                #expect(samples["virus_scan_collector_success{collector=\"outcome\"}"] == 1)
                #expect(samples["virus_scan_exporter_build_info{version=\"\(ScanCoreVersion.string)\"}"] == 1)
            }
            // Computed at scrape time: a new file shows on the next scrape.
            try tree.file("incoming/b.pdf", size: 3, age: 10)
            try await client.execute(uri: "/metrics", method: .get) { response in
                let samples = parseSamples(String(buffer: response.body))
                #expect(samples["virus_scan_queue_files{queue=\"incoming\"}"] == 2)
                #expect(samples["virus_scan_queue_bytes{queue=\"incoming\"}"] == 10)
            }
        }
    }

    @Test func landingPageHealthAndUnknownPaths() async throws {
        let tree = try PipelineTree()
        let app = buildApplication(config: config(tree))
        try await app.test(.router) { client in
            try await client.execute(uri: "/", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/html; charset=utf-8")
                let body = String(buffer: response.body)
                #expect(body.contains("<h1>virus_scan_exporter</h1>"))
                #expect(body.contains("<a href=\"metrics\">Metrics</a>"))
            }
            try await client.execute(uri: "/-/healthy", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body) == "virus_scan_exporter is Healthy.\n")
            }
            for path in ["/nope", "/metrics/x", "/../etc/passwd", "/%00", "/-/ready"] {
                try await client.execute(uri: path, method: .get) { response in
                    #expect(response.status == .notFound, "\(path)")
                }
            }
            try await client.execute(uri: "/metrics", method: .post) { response in
                #expect(response.status == .notFound || response.status == .methodNotAllowed)
            }
        }
    }

    @Test func liveServerOnLoopbackServesMetrics() async throws {
        let tree = try PipelineTree()
        try tree.file("draft-incoming/x/y.pdf", size: 5, age: 3000)
        try await withRunningExporter(config(tree)) { port in
            let response = try await httpGet(port: port, "/metrics")
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "text/plain; version=0.0.4; charset=utf-8")
            #expect(response.headers[.server] == "virus_scan_exporter")
            let samples = parseSamples(response.text)
            #expect(samples["virus_scan_queue_files{queue=\"draft-incoming\"}"] == 1)
            #expect(samples["virus_scan_queue_file_age_seconds_bucket{queue=\"draft-incoming\",le=\"2400\"}"] == 0)
            #expect(samples["virus_scan_queue_file_age_seconds_bucket{queue=\"draft-incoming\",le=\"3600\"}"] == 1)
            #expect(response.text.hasSuffix("\n"))
            let health = try await httpGet(port: port, "/-/healthy")
            #expect(health.status == .ok)
        }
    }

    @Test(arguments: [
        ("127.0.0.1:19906", "127.0.0.1", 19906), (":9", "127.0.0.1", 9), ("[::1]:80", "::1", 80), ("0.0.0.0:1", "0.0.0.0", 1),
    ])
    func listenAddressParses(text: String, host: String, port: Int) {
        #expect(ListenAddress(parsing: text) == ListenAddress(host: host, port: port))
    }

    @Test(arguments: ["", "host", "host:", "host:70000", "::1:80", "[::1]80", "h:-1"])
    func badListenAddressesAreRejected(text: String) {
        #expect(ListenAddress(parsing: text) == nil)
    }

    @Test func commandLineDefaultsAndFlags() throws {
        let defaults = try Exporter.parse([])
        #expect(defaults.listenAddress == "127.0.0.1:19906")
        #expect(defaults.graphiteAddress == nil)
        #expect(defaults.graphiteInterval == 60)
        let custom = try Exporter.parse([
            "--web.listen-address", "127.0.0.1:0", "--root", "/srv/up", "--queue", "incoming", "--socket", "/run/clamd.ctl",
            "--database-dir", "/tmp/db", "--lock", "/run/rescan.lock", "--graphite.address", "127.0.0.1:2003",
            "--graphite.interval", "10", "--graphite.prefix", "vs.test",
        ])
        #expect(custom.pipeline.root == "/srv/up")
        #expect(custom.pipeline.queue == ["incoming"])
        #expect(custom.pipeline.socket == "/run/clamd.ctl")
        #expect(custom.pipeline.databaseDirectory == "/tmp/db")
        #expect(custom.pipeline.lock == "/run/rescan.lock")
        #expect(custom.graphitePrefix == "vs.test")
        #expect(throws: (any Error).self) { try Exporter.parse(["--web.listen-address", "nonsense"]) }
        // A pool: --socket and --tcp together are two members, not an error; repeats too.
        let pool = try Exporter.parse(["--socket", "/a", "--tcp", "127.0.0.1:3310", "--tcp", "10.0.0.5:3310"])
        #expect(pool.pipeline.sockets == ["/a"])
        #expect(pool.pipeline.tcpAddresses == ["127.0.0.1:3310", "10.0.0.5:3310"])
        #expect(throws: (any Error).self) { try Exporter.parse(["--socket", "/a", "--socket", "unix:/a"]) }
        #expect(throws: (any Error).self) { try Exporter.parse(["--tcp", "localhost"]) }
    }

    /// `--age-source` as in check_virus_scan: it overrides the layout file's `age_source`.
    @Test func ageSourceOverridesTheLayout() throws {
        let tree = try TemporaryTree(prefix: "age")
        try FileOutput.makeDirectory(tree.path("up/incoming"))
        let config = tree.path("layout.yml")
        try FileOutput.write("root: \(tree.path("up"))\nage_source: btime\nqueues:\n  - name: incoming\n", to: config)
        let fromFile = try Exporter.parse(["--config", config]).pipeline.layout()
        #expect(fromFile.ageSource == .btime)
        let given = try Exporter.parse(["--config", config, "--age-source", "mtime"]).pipeline.layout()
        #expect(given.ageSource == .mtime)
        #expect(throws: (any Error).self) { try Exporter.parse(["--age-source", "ctime"]) }
    }
}
