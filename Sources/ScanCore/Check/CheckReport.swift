/// Everything one run of the check found, and its rendering in the plugin output format
/// (nagiosplugin's Results + Summary):
///
/// ```
/// VIRUS_SCAN <STATE> - <summary> | <perfdata>
/// <long output line>
/// ...
/// ```
public struct CheckReport: Sendable, Hashable {
    /// The plugin name printed first on the status line.
    public static let pluginName = "VIRUS_SCAN"
    /// Long output is cut after this many lines by default.
    public static let defaultMaxDetailLines = 40
    /// Any single line of text is cut after this many characters.
    public static let maxLineLength = 400

    public var results: [CheckResult]
    public var perfdata: [PerfDatum]
    /// Long-output lines, printed after the status line.
    public var details: [String]

    public init(results: [CheckResult] = [], perfdata: [PerfDatum] = [], details: [String] = []) {
        self.results = results
        self.perfdata = perfdata
        self.details = details
    }

    /// The worst state of all results; UNKNOWN when there are none.
    public var state: ServiceState {
        results.isEmpty ? .unknown : ServiceState.worst(results.map(\.state))
    }

    /// Line 1's text: the results' texts, most significant first, joined with `; `.
    public var summary: String {
        if results.isEmpty { return "no results" }
        let ordered = results.enumerated().sorted {
            ($0.element.state.severity, -$0.offset) > ($1.element.state.severity, -$1.offset)
        }
        return ordered.map(\.element.text).joined(separator: "; ")
    }

    /// Merges another report into this one (for `all`).
    public mutating func append(_ other: CheckReport) {
        results += other.results
        perfdata += other.perfdata
        details += other.details
    }

    /// The complete plugin output, newline-terminated. Long output is bounded to `maxDetailLines`
    /// lines (then one `... N more` line); `|` never appears in text.
    public func render(maxDetailLines: Int = CheckReport.defaultMaxDetailLines) -> String {
        var first = "\(CheckReport.pluginName) \(state) - \(CheckReport.clean(summary))"
        if !perfdata.isEmpty {
            first += " | " + perfdata.map(\.description).joined(separator: " ")
        }
        var lines = [first]
        for line in details.prefix(maxDetailLines) { lines.append(CheckReport.clean(line)) }
        if details.count > maxDetailLines {
            lines.append("... \(details.count - maxDetailLines) more lines not shown")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The single line printed for a failure of the plugin itself (bad arguments, timeout, internal error).
    public static func unknownLine(_ message: String) -> String {
        "\(pluginName) UNKNOWN - \(clean(message))\n"
    }

    /// Text safe for plugin output: `|` becomes `/`, line breaks and other control characters become
    /// spaces, and the line is cut at `maxLineLength` characters.
    public static func clean(_ text: String) -> String {
        var out = ""
        var count = 0
        for scalar in text.unicodeScalars {
            if count == maxLineLength {
                out += "..."
                break
            }
            switch scalar {
            case "|": out += "/"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F: out += " "
            default: out.unicodeScalars.append(scalar)
            }
            count += 1
        }
        return out
    }
}
