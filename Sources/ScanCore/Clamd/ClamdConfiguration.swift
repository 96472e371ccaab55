#if canImport(Glibc)
import Glibc
#endif

/// The parts of clamd's configuration (`clamd.conf`) that decide whether a clean verdict covers a
/// whole file: its size limits and AlertExceedsMax. A pure parser of the file's text.
///
/// clamd.conf is `Option Argument` per line, `#` starts a comment, options are case sensitive;
/// a SIZE is bytes with an optional `K`/`k` (KiB) or `M`/`m` (MiB) suffix; a BOOL is yes/no,
/// true/false or 1/0. An option given twice takes its last value, as in clamd. Options left out
/// take clamd's defaults (clamd.conf(5)): MaxFileSize 100M, MaxScanSize 400M, StreamMaxLength 100M,
/// AlertExceedsMax no. A limit of 0 is no limit.
///
/// Why it matters: with AlertExceedsMax no, clamd answers `OK` for a file over MaxFileSize or
/// MaxScanSize without having scanned (all of) it, so such a file must not be moved to clean.
public struct ClamdConfiguration: Sendable, Hashable {
    public static let defaultMaxFileSize: Int64 = 100 << 20
    public static let defaultMaxScanSize: Int64 = 400 << 20
    public static let defaultStreamMaxLength: Int64 = 100 << 20

    /// Files larger than this are not scanned (0: no limit).
    public var maxFileSize: Int64
    /// At most this much data is scanned per file (0: no limit).
    public var maxScanSize: Int64
    /// INSTREAM refuses more than this (0: no limit).
    public var streamMaxLength: Int64
    /// Whether files over MaxFileSize / MaxScanSize are reported as `Heuristics.Limits.Exceeded`.
    public var alertExceedsMax: Bool
    /// Which of the four the file set explicitly (the rest are clamd's defaults).
    public var explicitlySet: Set<String>

    public init(maxFileSize: Int64 = Self.defaultMaxFileSize, maxScanSize: Int64 = Self.defaultMaxScanSize,
                streamMaxLength: Int64 = Self.defaultStreamMaxLength, alertExceedsMax: Bool = false) {
        self.maxFileSize = maxFileSize
        self.maxScanSize = maxScanSize
        self.streamMaxLength = streamMaxLength
        self.alertExceedsMax = alertExceedsMax
        explicitlySet = []
    }

    /// clamd's defaults: what applies when there is no clamd.conf to read.
    public static let defaults = ClamdConfiguration()

    /// A line that is not a valid value for one of the options read here.
    public struct ParseError: Error, Sendable, Hashable, CustomStringConvertible {
        public let line: Int
        public let message: String
        public var description: String { "line \(line): \(message)" }
    }

    /// Parses clamd.conf text. Options other than the four above are ignored.
    public init(parsing text: String) throws(ParseError) {
        self.init()
        var number = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            number += 1
            let line = rawLine.drop { $0 == " " || $0 == "\t" }
            if line.isEmpty || line.hasPrefix("#") { continue }
            let parts = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
            guard let key = parts.first else { continue }
            let value = parts.count > 1 ? String(parts[1]) : ""
            switch key {
            case "MaxFileSize":
                maxFileSize = try Self.size(value, option: String(key), line: number)
            case "MaxScanSize":
                maxScanSize = try Self.size(value, option: String(key), line: number)
            case "StreamMaxLength":
                streamMaxLength = try Self.size(value, option: String(key), line: number)
            case "AlertExceedsMax":
                alertExceedsMax = try Self.bool(value, option: String(key), line: number)
            default:
                continue
            }
            explicitlySet.insert(String(key))
        }
    }

    /// The size above which a clean verdict from clamd does not cover the whole file: the smallest
    /// of MaxFileSize, MaxScanSize and StreamMaxLength that is set (0 is no limit), or nil when
    /// AlertExceedsMax is yes (clamd then flags what it could not scan) or nothing is limited.
    /// StreamMaxLength is in it because an INSTREAM over it is cut short.
    public var cleanVerdictLimit: Int64? {
        if alertExceedsMax { return nil }
        return [maxFileSize, maxScanSize, streamMaxLength].filter { $0 > 0 }.min()
    }

    /// A SIZE: digits, then optionally K/k or M/m.
    static func size(_ text: String, option: String, line: Int) throws(ParseError) -> Int64 {
        var digits = Substring(text)
        var multiplier: Int64 = 1
        switch digits.last {
        case "K", "k": multiplier = 1 << 10; digits = digits.dropLast()
        case "M", "m": multiplier = 1 << 20; digits = digits.dropLast()
        default: break
        }
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int64(digits),
            value <= Int64.max / multiplier
        else {
            throw ParseError(line: line, message: "\(option) '\(text)' is not a size (bytes, or a number with K or M)")
        }
        return value * multiplier
    }

    /// A BOOL: yes/no, true/false, 1/0 (clamd accepts any case).
    static func bool(_ text: String, option: String, line: Int) throws(ParseError) -> Bool {
        switch text.lowercased() {
        case "yes", "true", "1": return true
        case "no", "false", "0": return false
        default: throw ParseError(line: line, message: "\(option) '\(text)' is not yes or no")
        }
    }

    /// `5M`, `512K`, `123` — the form clamd.conf uses, for messages.
    public static func sizeText(_ bytes: Int64) -> String {
        if bytes > 0 && bytes % (1 << 20) == 0 { return "\(bytes >> 20)M" }
        if bytes > 0 && bytes % (1 << 10) == 0 { return "\(bytes >> 10)K" }
        return "\(bytes)"
    }
}

/// What reading clamd.conf gave: the `clamd` check and drain act on it.
public enum ClamdConfigurationReading: Sendable, Hashable {
    /// Not asked to read one (`--clamd-config none`).
    case notRead
    /// The default path does not exist (clamd runs elsewhere, or is configured elsewhere).
    case absent(path: String)
    case read(path: String, ClamdConfiguration)
    /// The file was named but cannot be read or does not parse.
    case failed(path: String, message: String)

    /// The value of `--clamd-config` that reads nothing.
    public static let noneArgument = "none"

    /// Reads `path` (`none`: nothing). A missing file is `.absent` when it is the default path,
    /// `.failed` when it was named.
    public static func read(_ path: String, isDefault: Bool) -> ClamdConfigurationReading {
        if path == noneArgument { return .notRead }
        let text: String
        do throws(Errno) {
            text = try readTextFile(path)
        } catch {
            if error.rawValue == ENOENT && isDefault { return .absent(path: path) }
            return .failed(path: path, message: "cannot read clamd's configuration \(path): \(error)")
        }
        do throws(ClamdConfiguration.ParseError) {
            return .read(path: path, try ClamdConfiguration(parsing: text))
        } catch {
            return .failed(path: path, message: "clamd's configuration \(path): \(error)")
        }
    }

    /// The limits that apply: the file's, or clamd's defaults when there is none to read at the
    /// default path; nil when not asked (`none`) or the file failed.
    public var effective: ClamdConfiguration? {
        switch self {
        case .read(_, let configuration): configuration
        case .absent: .defaults
        case .notRead, .failed: nil
        }
    }
}
