/// A measured value (nagiosplugin's Metric): a name, a value, its unit and its bounds.
public struct Metric: Sendable, Hashable {
    public var name: String
    public var value: Double
    public var unit: PerfUnit
    public var min: Double?
    public var max: Double?

    public init(_ name: String, _ value: Double, unit: PerfUnit = .none, min: Double? = nil, max: Double? = nil) {
        self.name = name
        self.value = value
        self.unit = unit
        self.min = min
        self.max = max
    }

    /// The value as a human reads it: `4m12s` for seconds, `46.0 MiB` for bytes, `132` for counts.
    public var humanValue: String {
        switch unit {
        case .seconds: DurationText.format(value)
        case .bytes: ByteText.format(value)
        case .percent: PerfDatum.format(value) + "%"
        case .none: PerfDatum.format(value)
        }
    }
}

/// Evaluates a metric against thresholds (nagiosplugin's ScalarContext).
public struct ScalarContext: Sendable, Hashable {
    public var thresholds: Thresholds

    public init(_ thresholds: Thresholds) { self.thresholds = thresholds }

    /// The state for `metric` and a short reason naming the range when it alerted.
    /// `describe` renders the value part of the text (`132 files queued`).
    public func evaluate(_ metric: Metric, describe: (Metric) -> String) -> CheckResult {
        let state = thresholds.state(for: metric.value)
        var text = describe(metric)
        if let range = thresholds.range(for: state) {
            text += " (\(state == .critical ? "critical" : "warning") \(ScalarContext.explain(range, value: metric.value, unit: metric.unit)))"
        }
        return CheckResult(state, text, metric: metric)
    }

    /// The perfdata item for `metric` with this context's ranges.
    public func performance(_ metric: Metric, label: String? = nil) -> PerfDatum {
        PerfDatum(
            label ?? metric.name, metric.value, unit: metric.unit, thresholds: thresholds, min: metric.min,
            max: metric.max)
    }

    /// Why `value` alerted under `range`, in the metric's unit: `above 100`, `below 10`,
    /// `within 10..20`, `at or above 5`.
    public static func explain(_ range: ThresholdRange, value: Double, unit: PerfUnit) -> String {
        func show(_ number: Double) -> String { Metric("", number, unit: unit).humanValue }
        if range.alertInside {
            if range.start == -.infinity && range.end == .infinity { return "at any value" }
            if range.start == -.infinity { return "at or below \(show(range.end))" }
            if range.end == .infinity { return "at or above \(show(range.start))" }
            return "within \(show(range.start))..\(show(range.end))"
        }
        return value < range.start ? "below \(show(range.start))" : "above \(show(range.end))"
    }
}

/// The outcome of one evaluation: a state and the text that explains it (nagiosplugin's Result).
public struct CheckResult: Sendable, Hashable {
    public var state: ServiceState
    /// One line, no `|`.
    public var text: String
    public var metric: Metric?

    public init(_ state: ServiceState, _ text: String, metric: Metric? = nil) {
        self.state = state
        self.text = text
        self.metric = metric
    }
}

/// Byte counts for people: `0 B`, `512 B`, `1.5 KiB`, `46.0 MiB`.
public enum ByteText {
    public static func format(_ bytes: Double) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
        var value = bytes
        var index = 0
        if !value.isFinite { return "\(PerfDatum.format(value)) B" }
        while abs(value) >= 1024, index < units.count - 1 {
            value /= 1024
            index += 1
        }
        if index == 0 { return "\(PerfDatum.format(value.rounded())) B" }
        let tenths = (value * 10).rounded()
        // Past PiB (or nan/inf) no tenths: whole units, never an Int64 conversion that could trap.
        guard tenths.isFinite, abs(tenths) < 1e15 else { return "\(PerfDatum.format(value.rounded())) \(units[index])" }
        let whole = Int64(tenths) / 10
        let fraction = abs(Int64(tenths) % 10)
        return "\(whole).\(fraction) \(units[index])"
    }
}
