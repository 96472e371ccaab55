import ScanCore
import Testing

@Suite("GraphitePlaintext")
struct GraphitePlaintextTests {
    @Test func linesForGaugesCountersHistogramsExactly() {
        var wait = HistogramSeries(labels: [Label("queue", "draft-incoming")], bounds: [60])
        wait.observe(12.5)
        let families: [MetricFamily] = [
            .gauge("virus_scan_queue_files", help: "h", [([Label("queue", "incoming")], 3)]),
            .counter("virus_scan_processed_total", help: "h", [([Label("queue", "incoming"), Label("verdict", "infected")], 2)]),
            .histogram("virus_scan_wait_seconds", help: "h", [wait]),
            .gauge("clamav_up", help: "h", value: 0),
            .gauge("clamav_build_info", help: "h", [([Label("version", "1.4.3")], 1)]),
            .gauge("clamav_ping_duration_seconds", help: "h", value: 0.000125),
            .gauge("skipped", help: "h", [([], .nan), ([Label("a", "b")], .infinity)]),
        ]
        let expected = """
            virus_scan.host1.incoming.queue_files 3 1700000000
            virus_scan.host1.incoming.infected.processed_total 2 1700000000
            virus_scan.host1.draft-incoming.wait_seconds_bucket.le_60 1 1700000000
            virus_scan.host1.draft-incoming.wait_seconds_bucket.le_inf 1 1700000000
            virus_scan.host1.draft-incoming.wait_seconds_sum 12.5 1700000000
            virus_scan.host1.draft-incoming.wait_seconds_count 1 1700000000
            virus_scan.host1.clamav_up 0 1700000000
            virus_scan.host1.1_4_3.clamav_build_info 1 1700000000
            virus_scan.host1.clamav_ping_duration_seconds 0.000125 1700000000

            """
        #expect(GraphitePlaintext.render(families, prefix: "virus_scan.host1", timestamp: 1_700_000_000) == expected)
    }

    @Test(arguments: [
        ("scan1.example.org", "virus_scan.scan1_example_org"), ("host", "virus_scan.host"), ("a b*c", "virus_scan.a_b_c"),
    ])
    func defaultPrefixSanitizesHostname(host: String, prefix: String) {
        #expect(GraphitePlaintext.defaultPrefix(hostname: host) == prefix)
    }

    @Test func componentsNeverAddLevelsOrQuerySyntax() {
        #expect(GraphitePlaintext.sanitize("a.b;c=d e*{f}") == "a_b_c_d_e__f_")
        #expect(GraphitePlaintext.sanitize("") == "none")
        #expect(GraphitePlaintext.sanitize("é") == "__")
    }

    @Test(arguments: [(1e-7, "0.0000001"), (2.5e-5, "0.000025"), (1.5e16, "15000000000000000"), (-0.5, "-0.5"), (3.0, "3")])
    func valuesArePlainDecimal(value: Double, text: String) {
        #expect(SampleValueFormat.graphite(value) == text)
    }
}
