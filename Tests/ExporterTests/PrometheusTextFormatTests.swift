import ScanCore
import Testing

@Suite("PrometheusTextFormat")
struct PrometheusTextFormatTests {
    @Test func gaugeCounterAndHistogramRenderExactly() {
        var wait = HistogramSeries(labels: [Label("queue", "incoming")], bounds: [60, 300])
        wait.observe(30)
        wait.observe(60)
        wait.observe(61.5)
        wait.observe(1000)
        let families: [MetricFamily] = [
            .gauge("virus_scan_queue_files", help: "Regular files waiting to be scanned.", [([Label("queue", "incoming")], 3), ([Label("queue", "draft-incoming")], 0)]),
            .counter("virus_scan_processed_total", help: "Files processed.", [([Label("queue", "incoming"), Label("verdict", "clean")], 12)]),
            .histogram("virus_scan_wait_seconds", help: "Wait.", [wait]),
            .gauge("clamav_up", help: "1 if clamd answered.", value: 1),
        ]
        let expected = """
            # HELP virus_scan_queue_files Regular files waiting to be scanned.
            # TYPE virus_scan_queue_files gauge
            virus_scan_queue_files{queue="incoming"} 3
            virus_scan_queue_files{queue="draft-incoming"} 0
            # HELP virus_scan_processed_total Files processed.
            # TYPE virus_scan_processed_total counter
            virus_scan_processed_total{queue="incoming",verdict="clean"} 12
            # HELP virus_scan_wait_seconds Wait.
            # TYPE virus_scan_wait_seconds histogram
            virus_scan_wait_seconds_bucket{queue="incoming",le="60"} 2
            virus_scan_wait_seconds_bucket{queue="incoming",le="300"} 3
            virus_scan_wait_seconds_bucket{queue="incoming",le="+Inf"} 4
            virus_scan_wait_seconds_sum{queue="incoming"} 1151.5
            virus_scan_wait_seconds_count{queue="incoming"} 4
            # HELP clamav_up 1 if clamd answered.
            # TYPE clamav_up gauge
            clamav_up 1

            """
        #expect(PrometheusTextFormat.render(families) == expected)
    }

    @Test func helpAndLabelValuesAreEscaped() {
        let family = MetricFamily.gauge(
            "x_info", help: "back\\slash and\nnewline and \"quotes\" stay",
            [([Label("path", "a\\b\"c\nd"), Label("plain", "é ü ✓")], 1)])
        let expected = """
            # HELP x_info back\\\\slash and\\nnewline and "quotes" stay
            # TYPE x_info gauge
            x_info{path="a\\\\b\\"c\\nd",plain="é ü ✓"} 1

            """
        #expect(PrometheusTextFormat.render([family]) == expected)
    }

    @Test(arguments: [
        (0.0, "0"), (3.0, "3"), (-2.0, "-2"), (0.25, "0.25"), (1151.5, "1151.5"), (1e-05, "1e-05"),
        (1e20, "1e+20"), (Double.nan, "NaN"), (Double.infinity, "+Inf"), (-Double.infinity, "-Inf"),
        (1_700_000_000.0, "1700000000"),
    ])
    func sampleValues(value: Double, text: String) {
        #expect(SampleValueFormat.prometheus(value) == text)
    }

    @Test func emptyRenderIsEmptyAndContentTypeIs004() {
        #expect(PrometheusTextFormat.render([]) == "")
        #expect(PrometheusTextFormat.contentType == "text/plain; version=0.0.4; charset=utf-8")
    }

    @Test func familiesOfOneNameMergeInFirstSeenOrder() {
        let merged = [
            MetricFamily.gauge("a", help: "A.", [([Label("collector", "queue")], 1)]),
            MetricFamily.gauge("b", help: "B.", value: 2),
            MetricFamily.gauge("a", help: "A.", [([Label("collector", "clamd")], 0)]),
        ].mergedByName()
        #expect(merged.map(\.name) == ["a", "b"])
        #expect(merged[0].samples.map { $0.label("collector") } == ["queue", "clamd"])
    }

    @Test func labelNameValidation() {
        #expect(Label.isValidName("queue"))
        #expect(Label.isValidName("_x9"))
        #expect(!Label.isValidName("9x"))
        #expect(!Label.isValidName("__name__"))
        #expect(!Label.isValidName("a-b"))
        #expect(!MetricFamily.isValidName("a:b"))
    }
}
