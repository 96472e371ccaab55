import ScanCore
import Testing

@Suite("ThresholdRange")
struct ThresholdRangeTests {
    /// Every row of conventions §1.4, with the endpoints and the values just beyond them.
    @Test(arguments: [
        // range, value, alerts
        ("10", -1.0, true), ("10", 0.0, false), ("10", 5.0, false), ("10", 10.0, false), ("10", 10.5, true),
        ("10:", 9.99, true), ("10:", 10.0, false), ("10:", 1e12, false),
        ("~:10", -1e12, false), ("~:10", 10.0, false), ("~:10", 10.001, true),
        ("10:20", 9.0, true), ("10:20", 10.0, false), ("10:20", 20.0, false), ("10:20", 21.0, true),
        ("@10:20", 9.0, false), ("@10:20", 10.0, true), ("@10:20", 15.0, true), ("@10:20", 20.0, true),
        ("@10:20", 20.5, false),
        ("~:", -1e15, false), ("~:", 1e15, false), ("@~:", 0.0, true), ("@~:", -5.0, true),
        ("-10:-5", -11.0, true), ("-10:-5", -10.0, false), ("-5.5:0", -5.5, false), ("-5.5:0", 0.1, true),
        (":10", -1.0, true), (":10", 10.0, false),
        ("@10", 0.0, true), ("@10", 10.0, true), ("@10", 10.5, false),
        ("0", 0.0, false), ("0", 1.0, true), ("1:", 0.0, true), ("1:", 1.0, false),
        ("5:6", 4.9, true), ("5:6", 5.0, false), ("5:6", 6.0, false), ("5:6", 6.1, true),
        ("0.5", 0.5, false), ("0.5", 0.51, true),
    ])
    func alerts(_ text: String, _ value: Double, _ expected: Bool) throws {
        let range = try ThresholdRange(parsing: text)
        #expect(range.alerts(value) == expected, "\(text) at \(value)")
    }

    @Test(arguments: [
        ("10", 0.0, 10.0, false), ("10:", 10.0, Double.infinity, false), ("~:10", -Double.infinity, 10.0, false),
        ("10:20", 10.0, 20.0, false), ("@10:20", 10.0, 20.0, true), ("~:", -Double.infinity, Double.infinity, false),
        ("+3:7", 3.0, 7.0, false),
    ])
    func parsesEndpoints(_ text: String, _ start: Double, _ end: Double, _ inside: Bool) throws {
        let range = try ThresholdRange(parsing: text)
        #expect(range.start == start)
        #expect(range.end == end)
        #expect(range.alertInside == inside)
        #expect(range.text == text)
    }

    /// Suffixes for ranges over seconds: s, m, h, d, on either endpoint.
    @Test(arguments: [
        ("90s", 0.0, 90.0), ("10m", 0.0, 600.0), ("2h", 0.0, 7200.0), ("1d", 0.0, 86400.0),
        ("1.5h", 0.0, 5400.0), ("10m:1h", 600.0, 3600.0), ("30m:", 1800.0, Double.infinity),
        ("~:20m", -Double.infinity, 1200.0), ("1200", 0.0, 1200.0),
    ])
    func secondsSuffixes(_ text: String, _ start: Double, _ end: Double) throws {
        let range = try ThresholdRange(parsing: text, unit: .seconds)
        #expect(range.start == start)
        #expect(range.end == end)
    }

    @Test func suffixEndpointsAreInclusive() throws {
        let range = try ThresholdRange(parsing: "20m", unit: .seconds)
        #expect(!range.alerts(1200))
        #expect(range.alerts(1201))
        let inside = try ThresholdRange(parsing: "@1h:2h", unit: .seconds)
        #expect(inside.alerts(3600))
        #expect(inside.alerts(7200))
        #expect(!inside.alerts(3599))
    }

    @Test(arguments: [
        "", "@", "abc", "10x", "1e3", "inf", "nan", "-inf:", "~", "~10", "10:5", "@20:10", " 10", "10 ", "10::20",
        "1:2:3", "--1", "1-", ".", "1..2", "10:abc", "0x10", "NaN:", "∞",
    ])
    func rejectsMalformed(_ text: String) {
        #expect(throws: CheckError.self) { try ThresholdRange(parsing: text, option: "--warning") }
    }

    @Test(arguments: ["10m", "2h", "1d", "90s"])
    func suffixesOnlyForSeconds(_ text: String) {
        #expect(throws: CheckError.self) { try ThresholdRange(parsing: text, unit: .plain) }
    }

    @Test func errorMessageNamesOptionAndText() {
        do {
            _ = try ThresholdRange(parsing: "20:10", option: "--critical")
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .invalidRange)
            #expect(
                error.message
                    == "--critical: '20:10' is not a valid range: start 20 is greater than end 10; use N, N:, ~:N, N:M or @N:M"
            )
        }
        do {
            _ = try ThresholdRange(parsing: "5x", unit: .seconds, option: "--age-warning")
            Issue.record("expected an error")
        } catch {
            #expect(
                error.message
                    == "--age-warning: '5x' is not a valid range: end '5x' is not a number; use N, N:, ~:N, N:M or @N:M (seconds, or with a suffix s/m/h/d)"
            )
        }
    }

    @Test(arguments: [
        ("10", "10"), ("0:10", "10"), ("10:", "10:"), ("~:10", "~:10"), ("@10:20", "@10:20"), ("~:", "~:"),
        ("@0:5", "@5"), ("-1:", "-1:"),
    ])
    func perfdataText(_ text: String, _ expected: String) throws {
        #expect(try ThresholdRange(parsing: text).perfdataText == expected)
    }

    @Test func perfdataTextNormalisesSuffixes() throws {
        #expect(try ThresholdRange(parsing: "20m", unit: .seconds).perfdataText == "1200")
        #expect(try ThresholdRange(parsing: "30m:1h", unit: .seconds).perfdataText == "1800:3600")
    }
}

@Suite("Thresholds")
struct ThresholdsTests {
    /// `-w 10 -c 20` and the other command-line examples of the guidelines.
    @Test(arguments: [
        ("10", "20", -1.0, ServiceState.critical), ("10", "20", 0.0, .ok), ("10", "20", 10.0, .ok),
        ("10", "20", 11.0, .warning), ("10", "20", 20.0, .warning), ("10", "20", 21.0, .critical),
        ("~:10", "~:20", -5.0, .ok), ("~:10", "~:20", 15.0, .warning), ("~:10", "~:20", 25.0, .critical),
        ("10:", "20", 5.0, .warning), ("10:", "20", -1.0, .critical), ("10:", "20", 15.0, .ok),
        ("10:", "20", 25.0, .critical),
    ])
    func guidelineExamples(_ warning: String, _ critical: String, _ value: Double, _ expected: ServiceState) throws {
        let thresholds = try Thresholds(warning: warning, critical: critical)
        #expect(thresholds.state(for: value) == expected)
    }

    @Test func criticalIsTestedBeforeWarning() throws {
        // Both alert: critical wins, even when warning is the "wider" range.
        let thresholds = try Thresholds(warning: "5", critical: "@0:100")
        #expect(thresholds.state(for: 50) == .critical)
    }

    @Test func noThresholdMeansNoTest() throws {
        #expect(Thresholds.none.state(for: -1e9) == .ok)
        #expect(Thresholds.none.state(for: 1e9) == .ok)
        let onlyCritical = try Thresholds(warning: nil, critical: "1:")
        #expect(onlyCritical.state(for: 0) == .critical)
        #expect(onlyCritical.state(for: 1) == .ok)
        let onlyWarning = try Thresholds(warning: "5", critical: nil)
        #expect(onlyWarning.state(for: 6) == .warning)
    }

    @Test func errorNamesTheFailingOption() {
        do {
            _ = try Thresholds(warning: "10", critical: "x", criticalOption: "--backlog-critical")
            Issue.record("expected an error")
        } catch {
            #expect(error.message.hasPrefix("--backlog-critical: 'x' is not a valid range"))
        }
    }
}

@Suite("ServiceState")
struct ServiceStateTests {
    @Test func exitCodes() {
        #expect(ServiceState.allCases.map(\.exitCode) == [0, 1, 2, 3])
        #expect(ServiceState.allCases.map(\.description) == ["OK", "WARNING", "CRITICAL", "UNKNOWN"])
    }

    @Test(arguments: [
        ([ServiceState](), ServiceState.ok), ([.ok, .ok], .ok), ([.ok, .warning], .warning),
        ([.warning, .critical, .ok], .critical), ([.unknown, .ok], .unknown), ([.unknown, .warning], .warning),
        ([.critical, .unknown], .critical),
    ])
    func worst(_ states: [ServiceState], _ expected: ServiceState) {
        #expect(ServiceState.worst(states) == expected)
    }
}
