import ScanCore
import Testing

/// ``ClamdPoolCheck`` on hand-made observations: the pool findings that real daemons cannot all
/// produce in one test (three daemons, a permission error).
@Suite("clamd pool evaluation")
struct ClamdPoolCheckTests {
    static func up(_ endpoint: String, daily: Int) -> ClamdObservation {
        ClamdObservation(endpoint: endpoint, ping: .success(0.001),
                         version: .success(ClamdVersion(parsing: "ClamAV 1.4.3/\(daily)/Wed Nov 25 10:47:56 2026")!), stats: nil)
    }

    @Test func skewNamesEveryDaemonBehindTheNewest() {
        let observations = [Self.up("unix:/run/a.ctl", daily: 27400), Self.up("tcp:10.0.0.5:3310", daily: 27402), Self.up("tcp:10.0.0.6:3310", daily: 27401)]
        let report = ClamdPoolCheck.evaluate(observations, labels: ["a", "b", "c"], minUp: 3, thresholds: .none)
        #expect(report.state == .warning)
        #expect(report.summary == "database version skew across the clamd pool: unix:/run/a.ctl has daily 27400, tcp:10.0.0.6:3310 has daily 27401 loaded, behind daily 27402 on tcp:10.0.0.5:3310; 3 of 3 clamd answer PONG")
        #expect(report.perfdata.map(\.label) == ["clamd_up", "clamd_a_up", "clamd_a_daily", "clamd_a_time", "clamd_b_up", "clamd_b_daily", "clamd_b_time", "clamd_c_up", "clamd_c_daily", "clamd_c_time"])
        #expect(report.details.filter { !$0.hasPrefix("  ") } == [
            "[OK] unix:/run/a.ctl: clamd PONG in 1ms, ClamAV 1.4.3/27400", "[OK] tcp:10.0.0.5:3310: clamd PONG in 1ms, ClamAV 1.4.3/27402",
            "[OK] tcp:10.0.0.6:3310: clamd PONG in 1ms, ClamAV 1.4.3/27401",
        ])
    }

    @Test func aSocketThePluginMayNotOpenIsDownAndUnknown() {
        let denied = ClamdError(.permissionDenied, "clamd socket /run/b.ctl: permission denied")
        let observations = [Self.up("unix:/run/a.ctl", daily: 27400), ClamdObservation(endpoint: "unix:/run/b.ctl", ping: .failure(denied))]
        let report = ClamdPoolCheck.evaluate(observations, labels: ["a", "b"], minUp: 1, thresholds: .none)
        // The pool's WARNING outranks the UNKNOWN (ServiceState.worst), which still says what cannot be known.
        #expect(report.state == .warning)
        #expect(report.results.map(\.state) == [.warning, .unknown])
        #expect(report.summary == "1 of 2 clamd answer (--min-up 1): unix:/run/b.ctl is down (permission denied); unix:/run/b.ctl: clamd socket /run/b.ctl: permission denied")
        #expect(report.perfdata.first?.description == "'clamd_up'=1;;1:;0;2")
    }

    @Test func allDownBelowMinUpIsCritical() {
        let refused = ClamdError(.connectionRefused, "connection to clamd refused")
        let observations = ["tcp:10.0.0.5:3310", "tcp:10.0.0.6:3310"].map { ClamdObservation(endpoint: $0, ping: .failure(refused)) }
        let report = ClamdPoolCheck.evaluate(observations, labels: ["b", "c"], minUp: 1, thresholds: .none)
        #expect(report.state == .critical)
        #expect(report.summary == "0 of 2 clamd answer, fewer than --min-up 1: tcp:10.0.0.5:3310 is down (connection refused); tcp:10.0.0.6:3310 is down (connection refused)")
        #expect(report.details == ["[CRITICAL] tcp:10.0.0.5:3310: down: connection to clamd refused", "[CRITICAL] tcp:10.0.0.6:3310: down: connection to clamd refused"])
    }
}
