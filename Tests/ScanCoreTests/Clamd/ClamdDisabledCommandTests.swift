import ScanCore
import ScanCoreTestSupport
import Testing

/// ClamAV 1.5 lets operators disable STATS, VERSION and RELOAD (`EnableStatsCommand no`, …): those
/// answer `COMMAND UNAVAILABLE`. The installed clamd (1.4) cannot, so a fake answers.
@Suite("clamd commands disabled by the operator")
struct ClamdDisabledCommandTests {
    static let short = ClamdClient.Timeouts(connect: .milliseconds(500), command: .milliseconds(500), scan: .milliseconds(500))

    @Test func disabledCommandsAreCommandDisabledNotFailures() throws {
        let fake = try FakeClamd(.disabling(["STATS", "VERSION", "RELOAD"]))
        let client = ClamdClient(endpoint: fake.endpoint, timeouts: Self.short)
        _ = try client.ping()
        let where_ = "clamd at unix:\(fake.socketPath)"
        expectClamdError(.commandDisabled, "\(where_) has STATS disabled (COMMAND UNAVAILABLE; clamd.conf EnableStatsCommand)") { () throws(ClamdError) in try client.stats() }
        expectClamdError(.commandDisabled, "\(where_) has VERSION disabled (COMMAND UNAVAILABLE; clamd.conf EnableVersionCommand)") { () throws(ClamdError) in try client.version() }
        expectClamdError(.commandDisabled, "\(where_) has RELOAD disabled (COMMAND UNAVAILABLE; clamd.conf EnableReloadCommand)") { () throws(ClamdError) in try client.reload() }
    }

    @Test func clamdCheckReportsWhatItLearned() throws {
        let fake = try FakeClamd(.disabling(["STATS", "VERSION"]))
        let client = ClamdClient(endpoint: fake.endpoint, timeouts: Self.short)
        let observation = ClamdObservation(
            endpoint: fake.endpoint.description, ping: .success(0.002),
            version: Result { () throws(ClamdError) in try client.version() },
            stats: Result { () throws(ClamdError) in try client.stats() })
        let report = ClamdCheck.evaluate(observation, thresholds: Thresholds())
        #expect(report.state == .ok)
        #expect(report.results.map(\.text) == ["clamd PONG in 2ms, VERSION disabled, STATS disabled"])
        #expect(report.details == [
            "VERSION is disabled in clamd (EnableVersionCommand no): the engine and loaded database are not known",
            "STATS is disabled in clamd (EnableStatsCommand no): queue, threads and memory are not known; -w/-c not tested",
        ])
        #expect(report.perfdata.map(\.label) == ["clamd_time"])
    }

    @Test func collectorKeepsUpAndLeavesOutWhatItCannotFill() async throws {
        let fake = try FakeClamd(.disabling(["STATS", "VERSION"]))
        let collector = ClamdCollector(client: ClamdClient(endpoint: fake.endpoint, timeouts: Self.short))
        let result = await collector.collect(now: WallClock.now())
        #expect(result.success)
        #expect(result.problems.isEmpty)
        #expect(result.families.map(\.name) == ["clamav_up", "clamav_ping_duration_seconds"])
        #expect(PrometheusTextFormat.render(result.families).contains("\nclamav_up 1\n"))
        // Only STATS disabled: VERSION's families are there.
        let statsOff = try FakeClamd(.disabling(["STATS"]))
        let partial = await ClamdCollector(client: ClamdClient(endpoint: statsOff.endpoint, timeouts: Self.short), timeZone: .offset(seconds: 0)).collect(now: WallClock.now())
        #expect(partial.success)
        #expect(partial.families.map(\.name) == ["clamav_up", "clamav_ping_duration_seconds", "clamav_build_info", "clamav_database_version", "clamav_database_build_timestamp_seconds"])
    }

    @Test func versionWithASignatureCountAndMoreFieldsParses() throws {
        let plain = try #require(ClamdVersion(parsing: "ClamAV 1.4.6/27500/Wed Nov 25 10:47:56 2026", timeZone: .offset(seconds: 0)))
        #expect(plain.signatureCount == nil)
        let counted = try #require(ClamdVersion(parsing: "ClamAV 1.5.0/27500/Wed Nov 25 10:47:56 2026/8712345", timeZone: .offset(seconds: 0)))
        #expect(counted.engineVersion == "1.5.0")
        #expect(counted.databaseVersion == 27500)
        #expect(counted.databaseBuildTime == plain.databaseBuildTime)
        #expect(counted.databaseBuildTimeText == "Wed Nov 25 10:47:56 2026")
        #expect(counted.signatureCount == 8_712_345)
        let more = try #require(ClamdVersion(parsing: "ClamAV 1.6.0/27500/Wed Nov 25 10:47:56 2026/8712345/future", timeZone: .offset(seconds: 0)))
        #expect(more.databaseVersion == 27500 && more.signatureCount == 8_712_345)
        let word = try #require(ClamdVersion(parsing: "ClamAV 1.6.0/27500/Wed Nov 25 10:47:56 2026/something", timeZone: .offset(seconds: 0)))
        #expect(word.databaseVersion == 27500 && word.signatureCount == nil)
        #expect(ClamdVersion(parsing: "ClamAV 1.5.0/27500") == nil)
        #expect(ClamdVersion(parsing: "ClamAV 1.5.0/27500/not a date/1") == nil)
    }

    @Test func clamdCheckShowsTheLoadedSignatureCount() throws {
        let fake = try FakeClamd(.disabling([], version: "ClamAV 1.5.0/27500/Wed Nov 25 10:47:56 2026/8712345"))
        let client = ClamdClient(endpoint: fake.endpoint, timeouts: Self.short)
        let observation = ClamdObservation(
            endpoint: "x", ping: .success(0.001),
            version: Result { () throws(ClamdError) in try client.version(timeZone: .offset(seconds: 0)) },
            stats: Result { () throws(ClamdError) in try client.stats() })
        let report = ClamdCheck.evaluate(observation, thresholds: Thresholds())
        #expect(report.state == .ok)
        #expect(report.results.map(\.text) == ["clamd PONG in 1ms, ClamAV 1.5.0/27500, queue 0"])
        #expect(report.details.first == "clamd has 8712345 signatures loaded")
    }
}
