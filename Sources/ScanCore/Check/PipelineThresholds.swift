/// The thresholds of every mode, in one place: the layout file's `thresholds:` section, read by the
/// check (when a mode's `-w`/`-c`, window or percentile is not given on the command line) and by the
/// exporter's status page, so both judge the same tree the same way.
///
/// ``recommended`` holds the values the page uses when the layout file has no `thresholds:` section;
/// they are the ones `icinga/services.conf.example` sets and the README's table lists.
public struct PipelineThresholds: Sendable, Hashable {
    /// Files waiting in a queue.
    public var backlog: Thresholds
    /// Seconds the oldest waiting file has waited.
    public var age: Thresholds
    /// Seconds, for the `waitPercentile` of the waits within `waitWindow`.
    public var wait: Thresholds
    public var waitPercentile: Double
    public var waitWindow: Double
    /// How long a file may wait while nothing is processed.
    public var stuckWindow: Double
    /// Files quarantined within `infectedWindow`.
    public var infected: Thresholds
    public var infectedWindow: Double
    /// clamd's queue length.
    public var clamd: Thresholds
    /// Seconds the longest scan in flight has run (STATS task lines): a hung scan.
    public var clamdScan: Thresholds = .none
    /// Seconds since the daily database was built.
    public var signatures: Thresholds
    /// Age of a running rescan pass (seconds), and time since the last completed one.
    public var rescanRunning: Thresholds
    public var rescanStale: Thresholds

    public init(backlog: Thresholds = .none, age: Thresholds = .none, wait: Thresholds = .none, waitPercentile: Double = 90,
                waitWindow: Double = 600, stuckWindow: Double = 1800, infected: Thresholds = .none, infectedWindow: Double = 86400,
                clamd: Thresholds = .none, signatures: Thresholds = .none, rescanRunning: Thresholds = .none, rescanStale: Thresholds = .none) {
        self.backlog = backlog
        self.age = age
        self.wait = wait
        self.waitPercentile = waitPercentile
        self.waitWindow = waitWindow
        self.stuckWindow = stuckWindow
        self.infected = infected
        self.infectedWindow = infectedWindow
        self.clamd = clamd
        self.signatures = signatures
        self.rescanRunning = rescanRunning
        self.rescanStale = rescanStale
    }

    /// The built-in values (the same as icinga/services.conf.example): backlog 100/500 files, age
    /// 20m/40m, wait p90 over 10m 20m/40m, stuck after 30m, any quarantine within 24h a WARNING,
    /// the daily database 2d/7d old, a completed rescan pass 8d/15d ago.
    public static let recommended = PipelineThresholds(
        backlog: Thresholds(warning: ThresholdRange(start: 0, end: 100), critical: ThresholdRange(start: 0, end: 500)),
        age: Thresholds(warning: ThresholdRange(start: 0, end: 1200, text: "20m"), critical: ThresholdRange(start: 0, end: 2400, text: "40m")),
        wait: Thresholds(warning: ThresholdRange(start: 0, end: 1200, text: "20m"), critical: ThresholdRange(start: 0, end: 2400, text: "40m")),
        infected: Thresholds(warning: ThresholdRange(start: 0, end: 0)),
        signatures: Thresholds(warning: ThresholdRange(start: 0, end: 172_800, text: "2d"), critical: ThresholdRange(start: 0, end: 604_800, text: "7d")),
        rescanStale: Thresholds(warning: ThresholdRange(start: 0, end: 691_200, text: "8d"), critical: ThresholdRange(start: 0, end: 1_296_000, text: "15d")))

    /// The modes of the `thresholds:` section and the keys each takes.
    public static let keys: [(mode: String, keys: [String])] = [
        ("backlog", ["warning", "critical"]),
        ("age", ["warning", "critical"]),
        ("wait", ["warning", "critical", "percentile", "window"]),
        ("stuck", ["window"]),
        ("infected", ["warning", "critical", "window"]),
        ("clamd", ["warning", "critical", "scan_warning", "scan_critical"]),
        ("signatures", ["warning", "critical"]),
        ("rescan", ["warning", "critical", "stale", "stale_critical"]),
    ]

    /// Reads a `thresholds:` section (mode → key → text). A mode or key left out keeps its value
    /// from ``recommended``; an unknown mode or key, or a value that does not parse, is an error
    /// naming `thresholds.MODE.KEY`.
    public static func parse(_ table: [String: [String: String]]) throws(CheckError) -> PipelineThresholds {
        var result = recommended
        for (mode, fields) in table.sorted(by: { $0.key < $1.key }) {
            guard let known = keys.first(where: { $0.mode == mode })?.keys else {
                throw CheckError(.invalidArgument, "thresholds: unknown mode '\(mode)' (one of \(keys.map(\.mode).joined(separator: ", ")))")
            }
            for key in fields.keys.sorted() where !known.contains(key) {
                throw CheckError(.invalidArgument, "thresholds.\(mode): unknown key '\(key)' (one of \(known.joined(separator: ", ")))")
            }
            func pair(_ unit: ThresholdRange.Unit, _ current: Thresholds, warning: String = "warning", critical: String = "critical") throws(CheckError) -> Thresholds {
                var value = current
                if let text = fields[warning] { value.warning = try ThresholdRange(parsing: text, unit: unit, option: "thresholds.\(mode).\(warning)") }
                if let text = fields[critical] { value.critical = try ThresholdRange(parsing: text, unit: unit, option: "thresholds.\(mode).\(critical)") }
                return value
            }
            func duration(_ key: String, _ current: Double) throws(CheckError) -> Double {
                guard let text = fields[key] else { return current }
                return try DurationText.parse(text, option: "thresholds.\(mode).\(key)")
            }
            switch mode {
            case "backlog": result.backlog = try pair(.plain, result.backlog)
            case "age": result.age = try pair(.seconds, result.age)
            case "wait":
                result.wait = try pair(.seconds, result.wait)
                result.waitWindow = try duration("window", result.waitWindow)
                if let text = fields["percentile"] {
                    guard let value = DurationText.parseNumber(Substring(text)), value > 0, value <= 100 else {
                        throw CheckError(.invalidArgument, "thresholds.wait.percentile: must be more than 0 and at most 100, got '\(BoundedNumber.shown(text))'")
                    }
                    result.waitPercentile = value
                }
            case "stuck": result.stuckWindow = try duration("window", result.stuckWindow)
            case "infected":
                result.infected = try pair(.plain, result.infected)
                result.infectedWindow = try duration("window", result.infectedWindow)
            case "clamd":
                result.clamd = try pair(.plain, result.clamd)
                result.clamdScan = try pair(.seconds, result.clamdScan, warning: "scan_warning", critical: "scan_critical")
            case "signatures": result.signatures = try pair(.seconds, result.signatures)
            default:
                result.rescanRunning = try pair(.seconds, result.rescanRunning)
                result.rescanStale = try pair(.seconds, result.rescanStale, warning: "stale", critical: "stale_critical")
            }
        }
        return result
    }
}
