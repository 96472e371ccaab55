import ScanCore
import ScanCoreTestSupport
import Testing

/// STATS replies captured from a real clamd 1.4.6 (Debian's clamav-daemon, MaxThreads 2), each asked
/// on a second connection while the first was busy.
enum CapturedStatsTasks {
    /// While clamd ran a SCAN of a 95 MB file.
    static let scanning = "POOLS: 1\n\nSTATE: VALID PRIMARY\nTHREADS: live 2  idle 0 max 2 idle-timeout 30\nQUEUE: 0 items\n\tSTATS 0.000012 \n\tSCAN 0.053379 /tmp/cx/big.bin\n\nMEMSTATS: heap N/A mmap N/A used N/A free N/A releasable N/A pools 1 pools_used 5.882M pools_total 5.964M\nEND"
    /// While clamd scanned a 24 MB INSTREAM whose last chunk had arrived.
    static let instream = "POOLS: 1\n\nSTATE: VALID PRIMARY\nTHREADS: live 2  idle 0 max 2 idle-timeout 30\nQUEUE: 0 items\n\tINSTREAM 0.002985 instream(local)\n\tSTATS 0.000005 \n\nMEMSTATS: heap N/A mmap N/A used N/A free N/A releasable N/A pools 1 pools_used 5.882M pools_total 5.964M\nEND"
    /// Just after that scan: one thread idle.
    static let idleThread = "POOLS: 1\n\nSTATE: VALID PRIMARY\nTHREADS: live 2  idle 1 max 2 idle-timeout 30\nQUEUE: 0 items\n\tIDLE 0.001555 \n\tSTATS 0.000001 \n\nMEMSTATS: heap N/A mmap N/A used N/A free N/A releasable N/A pools 1 pools_used 5.882M pools_total 5.964M\nEND"
    /// While two INSTREAM clients were still sending chunks: clamd's accept thread buffers them, no
    /// worker has the task yet.
    static let receiving = "POOLS: 1\n\nSTATE: VALID PRIMARY\nTHREADS: live 1  idle 0 max 2 idle-timeout 30\nQUEUE: 0 items\n\tSTATS 0.000006 \n\nMEMSTATS: heap N/A mmap N/A used N/A free N/A releasable N/A pools 1 pools_used 5.882M pools_total 5.964M\nEND"

    /// The scanning capture with its times raised: a SCAN hung for 400 s and an INSTREAM at 12.5 s.
    static let hung = "POOLS: 1\n\nSTATE: VALID PRIMARY\nTHREADS: live 3  idle 0 max 4 idle-timeout 30\nQUEUE: 0 items\n\tSTATS 0.000012 \n\tINSTREAM 12.500000 instream(local)\n\tSCAN 400.000000 /srv/uploads/incoming/slow report.pdf\n\nMEMSTATS: heap N/A mmap N/A used N/A free N/A releasable N/A pools 1 pools_used 5.882M pools_total 5.964M\nEND"
}

@Suite("clamd STATS task lines")
struct ClamdStatsTaskTests {
    typealias TaskLine = ClamdStats.TaskLine

    @Test func scanTaskCarriesItsFile() throws {
        let stats = try #require(ClamdStats(parsing: CapturedStatsTasks.scanning))
        #expect(stats.tasks == [TaskLine(command: "STATS", seconds: 0.000012), TaskLine(command: "SCAN", seconds: 0.053379, file: "/tmp/cx/big.bin")])
        #expect(stats.inFlight == [TaskLine(command: "SCAN", seconds: 0.053379, file: "/tmp/cx/big.bin")])
        #expect(stats.longestInFlight?.file == "/tmp/cx/big.bin")
        // The older view of the same lines is unchanged.
        #expect(stats.jobs == [ClamdStats.Job(command: "STATS", seconds: 0.000012), ClamdStats.Job(command: "SCAN", seconds: 0.053379)])
    }

    @Test func instreamTaskIsInFlight() throws {
        let stats = try #require(ClamdStats(parsing: CapturedStatsTasks.instream))
        #expect(stats.inFlight == [TaskLine(command: "INSTREAM", seconds: 0.002985, file: "instream(local)")])
        #expect(stats.tasks.count == 2)
    }

    @Test func idleThreadsAndTheStatsItselfAreNoScans() throws {
        let idle = try #require(ClamdStats(parsing: CapturedStatsTasks.idleThread))
        #expect(idle.tasks == [TaskLine(command: "IDLE", seconds: 0.001555), TaskLine(command: "STATS", seconds: 0.000001)])
        #expect(idle.inFlight.isEmpty)
        #expect(idle.longestInFlight == nil)
        let receiving = try #require(ClamdStats(parsing: CapturedStatsTasks.receiving))
        #expect(receiving.tasks == [TaskLine(command: "STATS", seconds: 0.000006)])
        #expect(receiving.inFlight.isEmpty)
    }

    @Test func longestFirstPathsWithSpacesAndUnreadableTimes() throws {
        let stats = try #require(ClamdStats(parsing: CapturedStatsTasks.hung))
        #expect(stats.inFlight == [
            TaskLine(command: "SCAN", seconds: 400, file: "/srv/uploads/incoming/slow report.pdf"),
            TaskLine(command: "INSTREAM", seconds: 12.5, file: "instream(local)"),
        ])
        let odd = try #require(ClamdStats(parsing: "POOLS: 1\nQUEUE: 1 items\n\tCONTSCAN\n\tFILDES x fd[9]\n\tSCAN 2.5 /a\n\t\nEND"))
        #expect(odd.tasks == [TaskLine(command: "CONTSCAN", seconds: nil), TaskLine(command: "FILDES", seconds: nil, file: "fd[9]"), TaskLine(command: "SCAN", seconds: 2.5, file: "/a")])
        #expect(odd.inFlight.map(\.command) == ["SCAN", "CONTSCAN", "FILDES"])
        // Lines outside QUEUE are not tasks.
        let outside = try #require(ClamdStats(parsing: "POOLS: 1\n\tSCAN 9 /x\nSTATE: VALID PRIMARY\nEND"))
        #expect(outside.tasks.isEmpty)
    }

    // MARK: the clamd mode's evaluation

    static func observation(_ text: String) throws -> ClamdObservation {
        ClamdObservation(endpoint: "unix:/run/clamd.ctl", ping: .success(0.002), stats: .success(try #require(ClamdStats(parsing: text))))
    }

    static func seconds(_ warning: String?, _ critical: String?) throws -> Thresholds {
        try Thresholds(warning: warning, critical: critical, unit: .seconds, warningOption: "--scan-warn", criticalOption: "--scan-crit")
    }

    @Test func hungScanIsCriticalOrWarningByItsRanges() throws {
        let observation = try Self.observation(CapturedStatsTasks.hung)
        let critical = ClamdCheck.evaluate(observation, thresholds: .none, scanThresholds: try Self.seconds(nil, "300"))
        #expect(critical.state == .critical)
        #expect(critical.results.map(\.text) == [
            "clamd PONG in 2ms, queue 0",
            "longest scan SCAN /srv/uploads/incoming/slow report.pdf running 6m40s (2 scans in flight) (critical above 5m)",
        ])
        #expect(critical.perfdata.first { $0.label == "longest_scan" }?.description == "'longest_scan'=400s;;300;0")
        #expect(critical.perfdata.first { $0.label == "active_tasks" }?.description == "'active_tasks'=2;;;0;4")
        #expect(critical.details.suffix(2) == [
            "  in flight: SCAN /srv/uploads/incoming/slow report.pdf for 400s",
            "  in flight: INSTREAM instream(local) for 12.5s",
        ])

        let warning = ClamdCheck.evaluate(observation, thresholds: .none, scanThresholds: try Self.seconds("300", "600"))
        #expect(warning.state == .warning)
        #expect(warning.results.last?.text == "longest scan SCAN /srv/uploads/incoming/slow report.pdf running 6m40s (2 scans in flight) (warning above 5m)")
        #expect(ClamdCheck.evaluate(observation, thresholds: .none, scanThresholds: try Self.seconds("401", "600")).state == .ok)
        #expect(ClamdCheck.evaluate(observation, thresholds: .none).state == .ok)
    }

    @Test func nothingInFlightIsZeroAndNoResult() throws {
        let report = ClamdCheck.evaluate(try Self.observation(CapturedStatsTasks.idleThread), thresholds: .none, scanThresholds: try Self.seconds("0", "0"))
        #expect(report.state == .ok)
        #expect(report.results.map(\.text) == ["clamd PONG in 2ms, queue 0"])
        #expect(report.perfdata.first { $0.label == "longest_scan" }?.description == "'longest_scan'=0s;0;0;0")
        #expect(report.perfdata.first { $0.label == "active_tasks" }?.value == 0)
        #expect(!report.details.contains { $0.contains("in flight") })
    }

    @Test func scanRangesAreParsedWithTheirOptionNames() throws {
        #expect(throws: CheckError.self) { try Self.seconds("nan", nil) }
        do {
            _ = try Self.seconds(nil, "5x")
            Issue.record("5x parsed")
        } catch {
            #expect("\(error)".contains("--scan-crit"), "\(error)")
        }
        #expect(try Self.seconds("5m", nil).warning?.end == 300)
    }
}
