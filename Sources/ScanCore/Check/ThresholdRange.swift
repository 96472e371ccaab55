/// A Monitoring Plugins threshold range: `[@]start:end`.
///
/// - `10` means `0:10`; `10:` means 10 to +∞; `~:10` means −∞ to 10; `10:20`; `@10:20`.
/// - Without `@` the range alerts when the value is **outside** `[start, end]` (endpoints are OK);
///   with `@` it alerts when the value is **inside** (endpoints alert).
/// - Parsing is strict: no exponent, no `inf`/`nan`, no trailing garbage, `start <= end`, and every
///   endpoint within ±10^15 (`BoundedNumber.maximumMagnitude`, after a unit suffix): `~` and an
///   omitted end are the way to say "unbounded".
/// - For ranges over seconds (`unit: .seconds`) each endpoint may carry a suffix: `90s`, `10m`, `2h`, `1d`.
public struct ThresholdRange: Sendable, Hashable, CustomStringConvertible {
    /// What the endpoints count, which decides whether unit suffixes are accepted.
    public enum Unit: Sendable, Hashable {
        /// Plain numbers (counts, bytes).
        case plain
        /// Seconds; endpoints accept the suffixes s, m, h, d.
        case seconds
    }

    /// The lower endpoint, `-infinity` for `~`.
    public var start: Double
    /// The upper endpoint, `+infinity` when omitted after `:`.
    public var end: Double
    /// true for `@`: alert inside the range instead of outside.
    public var alertInside: Bool
    /// The text as given by the user.
    public var text: String

    public init(start: Double, end: Double, alertInside: Bool = false, text: String? = nil) {
        precondition(!start.isNaN && !end.isNaN && start <= end, "invalid range \(start):\(end)")
        self.start = start
        self.end = end
        self.alertInside = alertInside
        self.text = text ?? ThresholdRange.canonicalText(start: start, end: end, alertInside: alertInside)
    }

    /// Parses `text`; `option` names the command-line option in the error message.
    public init(parsing text: String, unit: Unit = .plain, option: String = "range") throws(CheckError) {
        func fail(_ why: String) -> CheckError {
            let hint = unit == .seconds ? " (seconds, or with a suffix s/m/h/d)" : ""
            return CheckError(
                .invalidRange,
                "\(option): '\(BoundedNumber.shown(text))' is not a valid range: \(why); use N, N:, ~:N, N:M or @N:M\(hint)")
        }
        var body = Substring(text)
        var inside = false
        if body.first == "@" {
            inside = true
            body = body.dropFirst()
        }
        guard !body.isEmpty else { throw fail("it is empty") }
        func number(_ part: Substring, _ which: String) throws(CheckError) -> Double {
            let value: Double? =
                switch unit {
                case .plain: DurationText.parseNumber(part)
                case .seconds: DurationText.parseSeconds(part)
                }
            guard let value else { throw fail("\(which) '\(BoundedNumber.shown(String(part)))' is not a number") }
            guard abs(value) <= BoundedNumber.maximumMagnitude else {
                throw fail("\(which) '\(BoundedNumber.shown(String(part)))' is out of range (at most 10^15 in magnitude; ~ or an empty end for unbounded)")
            }
            return value == 0 ? 0 : value
        }
        let lower: Double
        let upper: Double
        if let colon = body.firstIndex(of: ":") {
            let startText = body[..<colon]
            let endText = body[body.index(after: colon)...]
            if startText == "~" {
                lower = -.infinity
            } else if startText.isEmpty {
                lower = 0
            } else {
                lower = try number(startText, "start")
            }
            upper = endText.isEmpty ? .infinity : try number(endText, "end")
        } else {
            lower = 0
            upper = try number(body, "end")
        }
        guard lower <= upper else {
            throw fail("start \(PerfDatum.format(lower)) is greater than end \(PerfDatum.format(upper))")
        }
        self.init(start: lower, end: upper, alertInside: inside, text: text)
    }

    /// Whether `value` raises an alert under this range (endpoints inclusive).
    public func alerts(_ value: Double) -> Bool {
        let within = value >= start && value <= end
        return alertInside ? within : !within
    }

    /// The range in seconds/plain numbers as perfdata carries it: `600`, `10:`, `~:600`, `@10:20`.
    /// Icinga graphs only plain numbers, so `0:N` is written `N`.
    public var perfdataText: String {
        ThresholdRange.canonicalText(start: start, end: end, alertInside: alertInside)
    }

    public var description: String { text }

    static func canonicalText(start: Double, end: Double, alertInside: Bool) -> String {
        let prefix = alertInside ? "@" : ""
        let startText = start == -.infinity ? "~" : PerfDatum.format(start)
        let endText = end == .infinity ? "" : PerfDatum.format(end)
        if start == 0 && end != .infinity { return prefix + endText }
        return prefix + startText + ":" + endText
    }
}

/// A warning and a critical range; either may be absent, and an absent range tests nothing.
public struct Thresholds: Sendable, Hashable {
    public var warning: ThresholdRange?
    public var critical: ThresholdRange?

    public init(warning: ThresholdRange? = nil, critical: ThresholdRange? = nil) {
        self.warning = warning
        self.critical = critical
    }

    /// Parses the optional texts of a `-w`/`-c` pair; the option names go into error messages.
    public init(
        warning: String?, critical: String?, unit: ThresholdRange.Unit = .plain,
        warningOption: String = "--warning", criticalOption: String = "--critical"
    ) throws(CheckError) {
        self.warning = try warning.map { (text: String) throws(CheckError) -> ThresholdRange in
            try ThresholdRange(parsing: text, unit: unit, option: warningOption)
        }
        self.critical = try critical.map { (text: String) throws(CheckError) -> ThresholdRange in
            try ThresholdRange(parsing: text, unit: unit, option: criticalOption)
        }
    }

    /// No ranges at all.
    public static let none = Thresholds()

    /// CRITICAL if the critical range alerts, else WARNING if the warning range alerts, else OK.
    public func state(for value: Double) -> ServiceState {
        if let critical, critical.alerts(value) { return .critical }
        if let warning, warning.alerts(value) { return .warning }
        return .ok
    }

    /// The range that `state(for:)` tested against for a non-OK state.
    public func range(for state: ServiceState) -> ThresholdRange? {
        switch state {
        case .critical: critical
        case .warning: warning
        default: nil
        }
    }
}
