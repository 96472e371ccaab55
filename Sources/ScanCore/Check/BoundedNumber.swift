/// Numbers from outside (command-line options, range endpoints), checked where they are parsed:
/// plain decimal, finite, and within a documented range, so nothing computed or printed from them
/// can trap (`Int(someDouble)`, `Int64` arithmetic, a `timespec`, a poll timeout).
///
/// The ranges (README, "Numbers"):
/// - range endpoints and plain numbers: magnitude at most 10^15 (`maximumMagnitude`);
/// - durations (windows, time limits, `--min-age`, `--deadline` …): 0 to 10^9 s, about 31 years
///   (`maximumSeconds`);
/// - byte sizes and rates: 0 to 2^50 bytes, 1 PiB (`maximumBytes`);
/// - counts (`--top`, `--jobs`, `--max-behind`, `--scan-timeout`): each option names its own.
///
/// nan, inf, exponents (`1e309`), hex and anything with trailing garbage are not numbers.
public enum BoundedNumber {
    /// The largest magnitude of a range endpoint or plain number: 10^15 (every whole number up to
    /// it is exact in a Double and prints without an exponent).
    public static let maximumMagnitude: Double = 1e15
    /// The longest duration: 10^9 seconds (about 31 years).
    public static let maximumSeconds: Double = 1e9
    /// The largest byte size or rate: 2^50 bytes (1 PiB).
    public static let maximumBytes: Int64 = 1 << 50

    /// Parses `text` (plain decimal; with `.seconds` an optional suffix s/m/h/d) and checks that the
    /// result lies within `bounds`; the error names `option` and the accepted range.
    public static func parse(
        _ text: String, option: String, unit: ThresholdRange.Unit = .plain, within bounds: ClosedRange<Double>
    ) throws(CheckError) -> Double {
        let value: Double? =
            switch unit {
            case .plain: DurationText.parseNumber(Substring(text))
            case .seconds: DurationText.parseSeconds(Substring(text))
            }
        let what = unit == .seconds ? "seconds, or with a suffix s/m/h/d" : "a plain decimal number"
        guard let value else {
            if looksNumeric(Substring(text), unit: unit) {
                throw CheckError(.invalidArgument, "\(option): '\(shown(text))' is out of range: use \(describe(bounds))")
            }
            throw CheckError(.invalidArgument, "\(option): '\(shown(text))' is not a number (\(what))")
        }
        guard bounds.contains(value) else {
            throw CheckError(.invalidArgument, "\(option): '\(shown(text))' is out of range: use \(describe(bounds))")
        }
        return value == 0 ? 0 : value  // -0 is 0
    }

    /// A whole number of `text` (optional sign, digits only) within `bounds`.
    public static func parseInteger(_ text: String, option: String, within bounds: ClosedRange<Int>) throws(CheckError) -> Int {
        let body = text.first == "+" || text.first == "-" ? text.dropFirst() : Substring(text)
        guard !body.isEmpty, body.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
            throw CheckError(.invalidArgument, "\(option): '\(shown(text))' is not a whole number")
        }
        guard let value = Int(text.first == "+" ? String(body) : text), bounds.contains(value) else {
            throw CheckError(.invalidArgument, "\(option): '\(shown(text))' is out of range: use \(bounds.lowerBound) to \(bounds.upperBound)")
        }
        return value
    }

    /// A byte count: `1500`, `64k`, `10M`, `1G`, `2T` (powers of 1024; the suffix in either case),
    /// whole or with a fraction (`1.5G`), within `bounds`.
    public static func parseBytes(_ text: String, option: String, within bounds: ClosedRange<Int64>) throws(CheckError) -> Int64 {
        var digits = Substring(text)
        var factor = 1.0
        switch digits.last {
        case "k", "K": factor = 1024
        case "m", "M": factor = 1_048_576
        case "g", "G": factor = 1_073_741_824
        case "t", "T": factor = 1_099_511_627_776
        default: break
        }
        if factor != 1 { digits = digits.dropLast() }
        let range = "\(bounds.lowerBound) to \(bounds.upperBound) bytes (suffixes k, M, G, T)"
        guard let number = DurationText.parseNumber(digits) else {
            if looksNumeric(digits, unit: .plain) {
                throw CheckError(.invalidArgument, "\(option): '\(shown(text))' is out of range: use \(range)")
            }
            throw CheckError(.invalidArgument, "\(option): '\(shown(text))' is not a number of bytes (1500, 64k, 10M, 1G)")
        }
        let bytes = (number * factor).rounded()
        guard bytes >= Double(bounds.lowerBound), bytes <= Double(bounds.upperBound) else {
            throw CheckError(.invalidArgument, "\(option): '\(shown(text))' is out of range: use \(range)")
        }
        return Int64(bytes)
    }

    /// `0 to 100`, `more than 0 …`: the accepted range in words.
    static func describe(_ bounds: ClosedRange<Double>) -> String {
        "\(PerfDatum.format(bounds.lowerBound)) to \(PerfDatum.format(bounds.upperBound))"
    }

    /// Decimal syntax whose value is too large for a Double (a 400-digit number).
    private static func looksNumeric(_ text: Substring, unit: ThresholdRange.Unit) -> Bool {
        var body = text
        if unit == .seconds, let last = body.last, DurationText.multiplier(last) != nil { body = body.dropLast() }
        if body.first == "+" || body.first == "-" { body = body.dropFirst() }
        return body.contains(where: \.isASCIIDigit) && body.allSatisfy { $0.isASCIIDigit || $0 == "." }
            && body.filter { $0 == "." }.count <= 1
    }

    /// The offending text for a one-line message: control characters escaped, at most 40 characters.
    static func shown(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            if out.unicodeScalars.count >= 40 { return out + "…" }
            if scalar.value < 0x20 || scalar.value == 0x7F || scalar == "\u{2028}" || scalar == "\u{2029}" || scalar == "\u{85}" {
                out += "?"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { asciiValue.map { $0 >= 0x30 && $0 <= 0x39 } ?? false }
}
