/// Durations as people and Icinga configs write them: `90` or `90s`, `10m`, `2h`, `1d` (seconds,
/// minutes, hours, days), and the short human form `4m12s` used in summaries.
public enum DurationText {
    /// Seconds per unit suffix.
    public static func multiplier(_ suffix: Character) -> Double? {
        switch suffix {
        case "s": 1
        case "m": 60
        case "h": 3600
        case "d": 86400
        default: nil
        }
    }

    /// Parses a plain decimal number (`12`, `-3`, `0.5`, `+7`): no exponent, no `inf`/`nan`, no spaces.
    public static func parseNumber(_ text: Substring) -> Double? {
        var digits = 0
        var dots = 0
        for (index, character) in text.enumerated() {
            switch character {
            case "0"..."9": digits += 1
            case ".": dots += 1
            case "-", "+": if index != 0 { return nil }
            default: return nil
            }
        }
        guard digits > 0, dots <= 1 else { return nil }
        guard let value = Double(String(text)), value.isFinite else { return nil }
        return value
    }

    /// Parses a number with an optional unit suffix into seconds: `90`, `90s`, `10m`, `1.5h`, `1d`.
    public static func parseSeconds(_ text: Substring) -> Double? {
        guard let last = text.last else { return nil }
        if let factor = multiplier(last) {
            guard let number = parseNumber(text.dropLast()), (number * factor).isFinite else { return nil }
            return number * factor
        }
        return parseNumber(text)
    }

    /// Parses a non-negative duration of at most `BoundedNumber.maximumSeconds` (10^9 s), throwing a
    /// one-line error naming `option` when it does not parse or is out of range.
    public static func parse(_ text: String, option: String) throws(CheckError) -> Double {
        guard let seconds = parseSeconds(Substring(text)), seconds >= 0 else {
            throw CheckError(
                .invalidDuration,
                "\(option): '\(BoundedNumber.shown(text))' is not a duration (a number of seconds, or with a suffix: 90s, 10m, 2h, 1d)")
        }
        guard seconds <= BoundedNumber.maximumSeconds else {
            throw CheckError(
                .invalidDuration,
                "\(option): '\(BoundedNumber.shown(text))' is out of range: at most 1000000000 seconds (about 31 years)")
        }
        return seconds == 0 ? 0 : seconds
    }

    /// The short human form of a number of seconds, two units at most: `0s`, `42s`, `4m12s`, `2h`,
    /// `1h05m`, `3d4h`. Fractions are rounded to whole seconds; below one second shows `0.4s`.
    public static func format(_ seconds: Double) -> String {
        guard !seconds.isNaN else { return "?" }
        guard seconds.isFinite else { return seconds > 0 ? "∞" : "-∞" }
        if seconds < 0 { return "-" + format(-seconds) }
        // Beyond 10^15 s (any real age is far below): whole days, never an Int64 conversion.
        if seconds >= 1e15 { return PerfDatum.format((seconds / 86400).rounded()) + "d" }
        if seconds > 0 && seconds < 1 {
            let tenths = (seconds * 10).rounded()
            return tenths >= 10 ? "1s" : "0.\(Int(tenths))s"
        }
        let total = Int64(seconds.rounded())
        let days = total / 86400
        let hours = (total % 86400) / 3600
        let minutes = (total % 3600) / 60
        let secs = total % 60
        func two(_ n: Int64) -> String { n < 10 ? "0\(n)" : "\(n)" }
        if days > 0 { return hours > 0 ? "\(days)d\(hours)h" : "\(days)d" }
        if hours > 0 { return minutes > 0 ? "\(hours)h\(two(minutes))m" : "\(hours)h" }
        if minutes > 0 { return secs > 0 ? "\(minutes)m\(two(secs))s" : "\(minutes)m" }
        return "\(secs)s"
    }
}
