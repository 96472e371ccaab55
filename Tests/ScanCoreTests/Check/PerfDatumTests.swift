import ScanCore
import Testing

@Suite("PerfDatum")
struct PerfDatumTests {
    @Test(arguments: [
        (0.0, "0"), (132.0, "132"), (-3.0, "-3"), (0.004, "0.004"), (1.5, "1.5"), (-3.25, "-3.25"),
        (48213344.0, "48213344"), (1e15, "1000000000000000"), (1e-7, "0"), (0.0000005, "0.000001"),
        (1795500000.0, "1795500000"), (123456.789, "123456.789"), (2.0 / 3.0, "0.666667"), (-0.0, "0"),
        (9.999999999, "10"),
    ])
    func numberFormat(_ value: Double, _ expected: String) {
        #expect(PerfDatum.format(value) == expected)
    }

    @Test func fullItem() throws {
        let thresholds = try Thresholds(warning: "100", critical: "500")
        #expect(PerfDatum("backlog", 132, thresholds: thresholds, min: 0).description == "'backlog'=132;100;500;0")
        #expect(PerfDatum("backlog_size", 48213344, unit: .bytes, min: 0).description == "'backlog_size'=48213344B;;;0")
        #expect(PerfDatum("clamd_time", 0.004, unit: .seconds).description == "'clamd_time'=0.004s")
        #expect(
            PerfDatum("ratio", 12.5, unit: .percent, min: 0, max: 100).description == "'ratio'=12.5%;;;0;100")
    }

    @Test func rangesAsGivenButNormalised() throws {
        let thresholds = try Thresholds(warning: "20m", critical: "@1h:2h", unit: .seconds)
        let datum = PerfDatum("oldest_age", 252, unit: .seconds, thresholds: thresholds, min: 0)
        #expect(datum.description == "'oldest_age'=252s;1200;@3600:7200;0")
    }

    @Test func labelsAreSanitised() {
        #expect(PerfDatum("draft-incoming files", 1).description == "'draft_incoming_files'=1")
        #expect(PerfDatum("A.b'c=d", 1).label == "a_b_c_d")
    }
}

@Suite("DurationText")
struct DurationTextTests {
    @Test(arguments: [
        ("90", 90.0), ("90s", 90.0), ("10m", 600.0), ("2h", 7200.0), ("1d", 86400.0), ("0.5s", 0.5), ("1.5m", 90.0),
    ])
    func parses(_ text: String, _ seconds: Double) throws {
        #expect(try DurationText.parse(text, option: "--window") == seconds)
    }

    @Test(arguments: ["", "m", "10x", "-5m", "1e2", "10 m", "inf", "1w", "10mm"])
    func rejects(_ text: String) {
        #expect(throws: CheckError.self) { try DurationText.parse(text, option: "--window") }
    }

    @Test func rejectionMessage() {
        #expect(throws: CheckError.self) { try DurationText.parse("soon", option: "--window") }
        do {
            _ = try DurationText.parse("soon", option: "--window")
        } catch {
            #expect(
                error.message
                    == "--window: 'soon' is not a duration (a number of seconds, or with a suffix: 90s, 10m, 2h, 1d)")
        }
    }

    @Test(arguments: [
        (0.0, "0s"), (0.4, "0.4s"), (42.0, "42s"), (60.0, "1m"), (252.0, "4m12s"), (245.0, "4m05s"),
        (7200.0, "2h"), (3900.0, "1h05m"), (86400.0, "1d"), (273600.0, "3d4h"), (59.6, "1m"), (-90.0, "-1m30s"),
    ])
    func formats(_ seconds: Double, _ expected: String) {
        #expect(DurationText.format(seconds) == expected)
    }
}

@Suite("CheckReport")
struct CheckReportTests {
    @Test func rendersStatusLinePerfdataAndLongOutput() throws {
        let context = ScalarContext(try Thresholds(warning: "100", critical: "500"))
        let metric = Metric("backlog", 132, min: 0)
        let result = context.evaluate(metric) { "\(PerfDatum.format($0.value)) files queued" }
        let report = CheckReport(
            results: [result, CheckResult(.ok, "clamd OK")],
            perfdata: [context.performance(metric), PerfDatum("backlog_size", 48213344, unit: .bytes, min: 0)],
            details: ["[WARNING] queue incoming: 132 files", "oldest a|b.pdf"])
        #expect(report.state == .warning)
        #expect(
            report.render()
                == """
                VIRUS_SCAN WARNING - 132 files queued (warning above 100); clamd OK | 'backlog'=132;100;500;0 'backlog_size'=48213344B;;;0
                [WARNING] queue incoming: 132 files
                oldest a/b.pdf

                """)
    }

    @Test func worstResultComesFirst() {
        let report = CheckReport(results: [
            CheckResult(.ok, "a"), CheckResult(.warning, "b"), CheckResult(.critical, "c"), CheckResult(.warning, "d"),
        ])
        #expect(report.summary == "c; b; d; a")
        #expect(report.state == .critical)
    }

    @Test func noResultsIsUnknown() {
        #expect(CheckReport().state == .unknown)
    }

    @Test func longOutputIsBounded() {
        let report = CheckReport(
            results: [CheckResult(.ok, "fine")], details: (1...100_000).map { "file \($0)" })
        let lines = report.render(maxDetailLines: 10).split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 13)  // status, 10 lines, "... more", final empty
        #expect(lines[11] == "... 99990 more lines not shown")
    }

    @Test func textIsCleaned() {
        #expect(CheckReport.clean("a|b\nc\td") == "a/b c d")
        #expect(CheckReport.clean(String(repeating: "x", count: 500)).count == CheckReport.maxLineLength + 3)
        #expect(CheckReport.unknownLine("bad\nthing") == "VIRUS_SCAN UNKNOWN - bad thing\n")
    }

    @Test(arguments: [
        ("10:", 5.0, PerfUnit.none, "below 10"), ("10", 11.0, .none, "above 10"), ("10", -1.0, .none, "below 0"),
        ("@10:20", 15.0, .none, "within 10..20"), ("20m", 1500.0, .seconds, "above 20m"),
        ("@~:5", 1.0, .none, "at or below 5"), ("@5:", 6.0, .none, "at or above 5"),
    ])
    func explain(_ text: String, _ value: Double, _ unit: PerfUnit, _ expected: String) throws {
        let range = try ThresholdRange(parsing: text, unit: unit == .seconds ? .seconds : .plain)
        #expect(ScalarContext.explain(range, value: value, unit: unit) == expected)
    }

    @Test func byteText() {
        #expect(ByteText.format(0) == "0 B")
        #expect(ByteText.format(512) == "512 B")
        #expect(ByteText.format(1536) == "1.5 KiB")
        #expect(ByteText.format(48213344) == "46.0 MiB")
    }
}

@Suite("RescanState and LockProbe")
struct RescanStateTests {
    @Test func roundTripsJSON() throws {
        let state = RescanState(started: 100.5, databaseVersion: 27400, filesDone: 3, filesTotal: 10, bytesDone: 30, bytesTotal: 100, errors: 1, detections: 0, lastCompletedAt: 50)
        let text = String(decoding: state.json(), as: UTF8.self)
        #expect(text == #"{"bytesDone":30,"bytesTotal":100,"databaseVersion":27400,"detections":0,"errors":1,"filesDone":3,"filesTotal":10,"lastCompletedAt":50,"started":100.5}"#)
        #expect(try RescanState(json: state.json()) == state)
        #expect(state.progress == 0.3)
        #expect(state.eta(now: 130.5) == 70)
    }

    @Test func parsesProcLocks() {
        let text = """
            1: POSIX  ADVISORY  WRITE 29090 fe:00:5555483 1073741824 1073742335
            2: FLOCK  ADVISORY  WRITE 30978 fe:00:16220536 0 EOF
            2: -> FLOCK  ADVISORY  WRITE 31000 fe:00:16220536 0 EOF
            3: FLOCK  ADVISORY  READ 41 08:01:16220536 0 EOF
            """
        // glibc's dev_t for major 0xfe, minor 0.
        let device = UInt64(0xfe) << 8
        #expect(LockProbe.holders(in: text, device: device, inode: 16220536) == [LockProbe.Holder(pid: 30978, mode: "WRITE")])
        #expect(LockProbe.holders(in: text, device: device, inode: 1).isEmpty)
    }
}
