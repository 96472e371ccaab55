/// The unit of a perfdata value: none for counts, `s` for durations, `B` for sizes, `%`.
public enum PerfUnit: String, Sendable, Hashable {
    case none = ""
    case seconds = "s"
    case bytes = "B"
    case percent = "%"
}

/// One performance-data item: `'label'=value[UOM];warn;crit;min;max`.
///
/// Numbers are written in plain decimal (C locale, no exponent, at most six decimals); integral values
/// are written as integers. Trailing empty fields are left out with their semicolons.
public struct PerfDatum: Sendable, Hashable, CustomStringConvertible {
    public var label: String
    public var value: Double
    public var unit: PerfUnit
    public var warning: ThresholdRange?
    public var critical: ThresholdRange?
    public var min: Double?
    public var max: Double?

    /// `label` is made safe with `PerfDatum.sanitize` (`[a-z0-9_]` only).
    public init(
        _ label: String, _ value: Double, unit: PerfUnit = .none, thresholds: Thresholds = .none,
        min: Double? = nil, max: Double? = nil
    ) {
        self.label = PerfDatum.sanitize(label)
        self.value = value
        self.unit = unit
        self.warning = thresholds.warning
        self.critical = thresholds.critical
        self.min = min
        self.max = max
    }

    /// The item as it appears after the `|`.
    public var description: String {
        // "U": the value could not be determined (never a trap on nan or inf).
        let shown: String = value.isFinite ? PerfDatum.format(value) + unit.rawValue : "U"
        func bound(_ limit: Double?) -> String {
            guard let limit, limit.isFinite else { return "" }
            return PerfDatum.format(limit)
        }
        var fields: [String] = [
            "'\(label)'=" + shown,
            warning?.perfdataText ?? "",
            critical?.perfdataText ?? "",
            bound(min),
            bound(max),
        ]
        while fields.count > 1, fields.last == "" { fields.removeLast() }
        return fields.joined(separator: ";")
    }

    /// A label reduced to lower-case `[a-z0-9_]` (other characters become `_`), so Graphite and
    /// Icinga never split or reject it.
    public static func sanitize(_ label: String) -> String {
        var out = ""
        for scalar in label.unicodeScalars {
            switch scalar {
            case "a"..."z", "0"..."9", "_": out.unicodeScalars.append(scalar)
            case "A"..."Z": out.unicodeScalars.append(Unicode.Scalar(scalar.value + 32)!)
            default: out += "_"
            }
        }
        return out.isEmpty ? "_" : out
    }

    /// Plain decimal, C locale, no exponent: integers as integers, otherwise up to six decimals with
    /// trailing zeros removed (`0.004`, `12`, `-3.5`). Total: never traps. From 9.2·10^12 on values are
    /// written whole; beyond Int64 the shortest round-trip digits are written out with zeros
    /// (`1e20` → `100000000000000000000`); nan and infinities are `nan`, `inf`, `-inf` (the options and
    /// ranges are bounded, so these only show a bug, never a crash).
    public static func format(_ value: Double) -> String {
        guard value.isFinite else { return value.isNaN ? "nan" : value > 0 ? "inf" : "-inf" }
        if value == value.rounded() || abs(value) >= 9.2e12 {
            return wholeNumber(value.rounded())
        }
        let micros = Int64((value * 1_000_000).rounded())
        let negative = micros < 0
        let magnitude = negative ? -micros : micros
        let whole = magnitude / 1_000_000
        var fraction = String(magnitude % 1_000_000)
        if fraction == "0" { return (negative ? "-" : "") + String(whole) }
        fraction = String(repeating: "0", count: 6 - fraction.count) + fraction
        while fraction.last == "0" { fraction.removeLast() }
        return (negative ? "-" : "") + String(whole) + "." + fraction
    }

    /// A finite whole number in plain digits, also beyond Int64.
    private static func wholeNumber(_ value: Double) -> String {
        if abs(value) < 9.2e18 { return String(Int64(value)) }
        // "9.223372036854776e+18": the digits, then zeros up to the exponent.
        let text = "\(abs(value))"
        guard let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }),
            let exponent = Int(text[text.index(after: e)...].filter { $0 != "+" })
        else { return (value < 0 ? "-" : "") + text }
        let mantissa = text[..<e]
        let digits = mantissa.filter { $0 != "." }
        let pointAt = (mantissa.firstIndex(of: ".").map { mantissa.distance(from: mantissa.startIndex, to: $0) } ?? mantissa.count) + exponent
        let padded = pointAt > digits.count ? digits + String(repeating: "0", count: pointAt - digits.count) : String(digits.prefix(pointAt))
        return (value < 0 ? "-" : "") + padded
    }
}
