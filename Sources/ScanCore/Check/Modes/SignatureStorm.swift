/// `--storm COUNT[:CRIT]` of `infected` (and `all`): WARNING when one signature quarantined at
/// least `warning` distinct files in the window, CRITICAL at `critical` (default twice COUNT).
public struct StormThresholds: Sendable, Hashable {
    public var warning: Int
    public var critical: Int

    public static let maximum = 1_000_000_000

    public init(warning: Int, critical: Int) {
        self.warning = warning
        self.critical = critical
    }

    /// Parses `COUNT` or `COUNT:CRIT`: whole numbers from 1 to 10^9, CRIT at least COUNT.
    public init(parsing text: String, option: String = "--storm") throws(CheckError) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        func number(_ part: Substring, _ what: String) throws(CheckError) -> Int {
            guard !part.isEmpty, part.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int(part),
                  (1...Self.maximum).contains(value) else {
                throw CheckError(.invalidArgument, "\(option): \(what) must be a whole number of files from 1 to \(Self.maximum), got '\(part)' (use COUNT or COUNT:CRIT)")
            }
            return value
        }
        guard parts.count == 1 || parts.count == 2 else {
            throw CheckError(.invalidArgument, "\(option): use COUNT or COUNT:CRIT (files of one signature), got '\(text)'")
        }
        let warning = try number(parts[0], "COUNT")
        let critical = parts.count == 2 ? try number(parts[1], "CRIT") : min(Self.maximum, 2 * warning)
        guard critical >= warning else {
            throw CheckError(.invalidArgument, "\(option): CRIT (\(critical)) must be at least COUNT (\(warning))")
        }
        self.init(warning: warning, critical: critical)
    }

    public var text: String { "\(warning):\(critical)" }

    /// The perfdata ranges: alert at `warning` (`critical`) files or more.
    public var perfThresholds: Thresholds {
        Thresholds(warning: ThresholdRange(start: 0, end: Double(warning - 1)), critical: ThresholdRange(start: 0, end: Double(critical - 1)))
    }
}

/// The window's quarantines grouped by signature.
public enum SignatureStorm {
    /// The bucket of files known only from the outcome tree: the journal has no record of them, so
    /// their signature is not known (the legacy mover, or a record rotated away).
    public static let unknownBucket = "(unknown: not in the journal)"

    /// Distinct files per signature, most first (ties by name); the unknown bucket last.
    public static func group(_ records: [ProcessedRecord]) -> [(signature: String, files: Int)] {
        var counts: [String: Int] = [:]
        var unknown = 0
        for record in records {
            if let signature = record.signature, !signature.isEmpty { counts[signature, default: 0] += 1 } else { unknown += 1 }
        }
        var groups = counts.map { (signature: $0.key, files: $0.value) }
            .sorted { $0.files != $1.files ? $0.files > $1.files : $0.signature < $1.signature }
        if unknown > 0 { groups.append((unknownBucket, unknown)) }
        return groups
    }
}
