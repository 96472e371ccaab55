import ScanCore
import Testing

/// Numbers are bounded types: every parser of a number from outside checks it is finite and
/// within its documented range, and every formatter is total (none of these could trap before).
@Suite("Bounded numbers")
struct BoundedNumberTests {
    /// Formatting is total: huge, tiny, nan and infinite values print (these trapped in `Int64(_:)`).
    @Test(arguments: [
        // Beyond Int64: the shortest round-trip digits, then zeros (a Double has no more digits to give).
        (9_223_372_036_854_775_807.0, "9223372036854776000"), (-9_223_372_036_854_775_808.0, "-9223372036854776000"),
        (1e20, "100000000000000000000"), (1.5e19, "15000000000000000000"), (-2.5e25, "-25000000000000000000000000"),
        (1e300 * 1e8, "1" + String(repeating: "0", count: 308)), (9.3e12 + 0.5, "9300000000001"),
        (Double.nan, "nan"), (Double.infinity, "inf"), (-Double.infinity, "-inf"), (Double.leastNonzeroMagnitude, "0"),
    ])
    func perfdataFormatIsTotal(_ value: Double, _ expected: String) {
        #expect(PerfDatum.format(value) == expected)
    }

    @Test func perfdataItemWithNonFiniteValues() {
        #expect(PerfDatum("x", .nan, unit: .seconds, min: 0, max: .infinity).description == "'x'=U;;;0")
        #expect(PerfDatum("x", 1e19, unit: .bytes).description == "'x'=10000000000000000000B")
    }

    @Test func humanFormatsAreTotal() {
        #expect(DurationText.format(9.3e18) == "107638888888889d")
        #expect(DurationText.format(-1e300).hasPrefix("-1157407407407407"))
        #expect(DurationText.format(.nan) == "?")
        #expect(ByteText.format(1e30) == "888178419700125 PiB")
        #expect(ByteText.format(.infinity) == "inf B")
        #expect(ByteText.format(.nan) == "nan B")
    }

    /// Range endpoints: within ±10^15, nan/inf/exponents are not numbers, huge values are out of range.
    @Test(arguments: [
        ("9223372036854775807", "--warning: '9223372036854775807' is not a valid range: end '9223372036854775807' is out of range (at most 10^15 in magnitude; ~ or an empty end for unbounded); use N, N:, ~:N, N:M or @N:M"),
        ("-1000000000000001:", "--warning: '-1000000000000001:' is not a valid range: start '-1000000000000001' is out of range (at most 10^15 in magnitude; ~ or an empty end for unbounded); use N, N:, ~:N, N:M or @N:M"),
        ("nan", "--warning: 'nan' is not a valid range: end 'nan' is not a number; use N, N:, ~:N, N:M or @N:M"),
        ("1:1e309", "--warning: '1:1e309' is not a valid range: end '1e309' is not a number; use N, N:, ~:N, N:M or @N:M"),
    ])
    func rangeEndpointsAreBounded(_ text: String, _ message: String) {
        #expect(throws: CheckError.self) { try ThresholdRange(parsing: text, option: "--warning") }
        do { _ = try ThresholdRange(parsing: text, option: "--warning") } catch { #expect(error.message == message) }
    }

    @Test func rangeLimitsAreInclusiveAndSuffixesCount() throws {
        #expect(try ThresholdRange(parsing: "-1000000000000000:1000000000000000").perfdataText == "-1000000000000000:1000000000000000")
        // 10^15 s is fine, 10^15 days is not (the suffix is applied before the bound).
        #expect(throws: CheckError.self) { try ThresholdRange(parsing: "1000000000000000d", unit: .seconds) }
        // A 400-digit number would be +inf as a Double: not a number for ranges.
        #expect(throws: CheckError.self) { try ThresholdRange(parsing: String(repeating: "9", count: 400)) }
        #expect(try ThresholdRange(parsing: "-0").perfdataText == "0")
    }

    @Test(arguments: [
        ("9223372036854775808", "--timeout: '9223372036854775808' is out of range: at most 1000000000 seconds (about 31 years)"),
        ("1000000001", "--timeout: '1000000001' is out of range: at most 1000000000 seconds (about 31 years)"),
        ("11575d", "--timeout: '11575d' is out of range: at most 1000000000 seconds (about 31 years)"),
        ("1e309", "--timeout: '1e309' is not a duration (a number of seconds, or with a suffix: 90s, 10m, 2h, 1d)"),
        ("inf", "--timeout: 'inf' is not a duration (a number of seconds, or with a suffix: 90s, 10m, 2h, 1d)"),
        (String(repeating: "9", count: 306) + "d", "--timeout: '" + String(repeating: "9", count: 40) + "…' is not a duration (a number of seconds, or with a suffix: 90s, 10m, 2h, 1d)"),
    ])
    func durationsAreBounded(_ text: String, _ message: String) {
        do {
            _ = try DurationText.parse(text, option: "--timeout")
            Issue.record("\(text) parsed")
        } catch {
            #expect(error.message == message)
        }
    }

    @Test func durationLimitIsInclusive() throws {
        #expect(try DurationText.parse("1000000000", option: "-t") == 1e9)
        #expect(try DurationText.parse("-0", option: "-t").sign == .plus)
    }

    @Test func boundedParsers() throws {
        #expect(try BoundedNumber.parse("90", option: "--percentile", within: 0...100) == 90)
        #expect(throws: CheckError.self) { try BoundedNumber.parse("nan", option: "--percentile", within: 0...100) }
        do { _ = try BoundedNumber.parse("100.5", option: "--percentile", within: 0...100) } catch {
            #expect(error.message == "--percentile: '100.5' is out of range: use 0 to 100")
        }
        do { _ = try BoundedNumber.parse(String(repeating: "9", count: 400), option: "--p", within: 0...100) } catch {
            #expect(error.message == "--p: '" + String(repeating: "9", count: 40) + "…' is out of range: use 0 to 100")
        }
        #expect(try BoundedNumber.parseInteger("+7", option: "--top", within: 0...10) == 7)
        do { _ = try BoundedNumber.parseInteger("9223372036854775808", option: "--top", within: 0...10) } catch {
            #expect(error.message == "--top: '9223372036854775808' is out of range: use 0 to 10")
        }
        #expect(try BoundedNumber.parseBytes("1.5k", option: "--max-size", within: 0...BoundedNumber.maximumBytes) == 1536)
        #expect(try BoundedNumber.parseBytes("1024T", option: "--max-size", within: 0...BoundedNumber.maximumBytes) == 1 << 50)
        do { _ = try BoundedNumber.parseBytes("9223372036854775807G", option: "--max-size", within: 0...BoundedNumber.maximumBytes) } catch {
            #expect(error.message == "--max-size: '9223372036854775807G' is out of range: use 0 to 1125899906842624 bytes (suffixes k, M, G, T)")
        }
        do { _ = try BoundedNumber.parseBytes("1e309", option: "--max-size", within: 0...BoundedNumber.maximumBytes) } catch {
            #expect(error.message == "--max-size: '1e309' is not a number of bytes (1500, 64k, 10M, 1G)")
        }
    }

    /// A published daily of Int.min (a hostile DNS answer) trapped in the "versions behind" subtraction.
    @Test func versionsBehindCannotOverflow() throws {
        let header = try CVDHeader(line: "ClamAV-VDB:25 Nov 2025 09-33 +0000:27812:2076543:90:0123456789abcdef0123456789abcdef:sig:builder:1764063182")
        let daily = SignatureDatabaseInventory.Container(fileName: "daily.cld", name: "daily", kind: .cld, path: "/db/daily.cld", header: header, fileSize: 1)
        let inventory = SignatureDatabaseInventory(directory: "/db", containers: [daily], plainDatabases: [], ignoredSignatures: [], problems: [])
        for txt in ["1.4.3:62:-9223372036854775808:1764063182", "1.4.3:62:9223372036854775807:1764063182"] {
            let published = try #require(ClamAVPublishedVersions(txt: txt))
            let observation = SignaturesObservation(directory: "/db", inventory: .success(inventory), upstream: .success(published))
            let report = SignaturesCheck.evaluate(observation, now: 1_764_063_182, thresholds: .none, maxBehind: 2)
            #expect(report.render().hasPrefix("VIRUS_SCAN "))
        }
    }

    /// Found by the clamd-version fuzz target: a year beyond Int32 trapped in mktime's `tm_year`.
    @Test func clamdVersionWithAHugeYearIsNotAVersion() {
        let reply = "ClamAV 1.3.6/27812/Tue Nov 25 06:33:02 203333333333333325"
        #expect(ClamdVersion(parsing: reply, timeZone: .local) == nil)
        #expect(ClamdVersion(parsing: reply, timeZone: .offset(seconds: 0)) == nil)
        #expect(ClamdVersion(parsing: "ClamAV 1.3.6/27812/Tue Nov 25 06:33:02 2025", timeZone: .offset(seconds: 0))?.databaseBuildTime == 1_764_052_382)
    }
}
