import Foundation
import ScanCore
import ScanCoreTestSupport
import Testing

/// The clamd collector's scans in flight: `clamav_active_tasks` and `clamav_longest_scan_seconds`
/// from STATS' task lines (a fake replaying STATS as a real clamd 1.4 prints it).
@Suite("clamd collector scans in flight")
struct ClamdInFlightCollectorTests {
    static let short = ClamdClient.Timeouts(connect: .seconds(2), command: .seconds(2), scan: .seconds(2))

    static func scrape(stats: String) async throws -> (text: String, result: CollectorResult) {
        let fake = try FakeClamd(.byCommand(["PING": "PONG", "VERSION": "ClamAV 1.4.6/27500/Wed Nov 25 10:47:56 2026", "STATS": stats]))
        defer { fake.stop() }
        let collector = ClamdCollector(client: ClamdClient(endpoint: fake.endpoint, timeouts: Self.short), timeZone: .offset(seconds: 0))
        let result = await collector.collect(now: WallClock.now())
        return (PrometheusTextFormat.render(result.families), result)
    }

    @Test func hungScanAndTaskCountAreExported() async throws {
        let hung = "POOLS: 1\n\nSTATE: VALID PRIMARY\nTHREADS: live 3  idle 0 max 4 idle-timeout 30\nQUEUE: 0 items\n\tSTATS 0.000012 \n\tINSTREAM 12.500000 instream(local)\n\tSCAN 400.000000 /srv/uploads/incoming/slow.pdf\n\nMEMSTATS: heap N/A mmap N/A used N/A free N/A releasable N/A pools 1 pools_used 5.882M pools_total 5.964M\nEND"
        let (text, result) = try await Self.scrape(stats: hung)
        #expect(result.success, "\(result.problems)")
        let samples = parseSamples(text)
        #expect(samples["clamav_active_tasks"] == 2)
        #expect(samples["clamav_longest_scan_seconds"] == 400)
        #expect(text.contains("# HELP clamav_active_tasks Scans clamd has in flight (STATS task lines, without idle threads and the STATS itself).\n# TYPE clamav_active_tasks gauge\nclamav_active_tasks 2\n"), "\(text)")
        #expect(text.contains("# HELP clamav_longest_scan_seconds How long the longest-running scan in flight has been running (STATS task lines); 0 when none is.\n# TYPE clamav_longest_scan_seconds gauge\nclamav_longest_scan_seconds 400\n"), "\(text)")
        let lint = try runProgram("/usr/bin/promtool", ["check", "metrics"], input: text)
        #expect(lint.status == 0 && lint.stdout.isEmpty && lint.stderr.isEmpty, "promtool check metrics: \(lint.stdout)\(lint.stderr)")
    }

    @Test func idleClamdExportsZero() async throws {
        // Captured from a real clamd just after a scan: one idle thread and the STATS itself.
        let idle = "POOLS: 1\n\nSTATE: VALID PRIMARY\nTHREADS: live 2  idle 1 max 2 idle-timeout 30\nQUEUE: 0 items\n\tIDLE 0.001555 \n\tSTATS 0.000001 \n\nMEMSTATS: heap N/A mmap N/A used N/A free N/A releasable N/A pools 1 pools_used 5.882M pools_total 5.964M\nEND"
        let (text, result) = try await Self.scrape(stats: idle)
        #expect(result.success)
        let samples = parseSamples(text)
        #expect(samples["clamav_active_tasks"] == 0)
        #expect(samples["clamav_longest_scan_seconds"] == 0)
        #expect(result.families.map(\.name).suffix(3) == ["clamav_memory_bytes", "clamav_active_tasks", "clamav_longest_scan_seconds"])
    }
}
