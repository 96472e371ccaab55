/// The type of a metric family, as written on its `# TYPE` line.
public enum MetricType: String, Sendable, Hashable {
    case counter
    case gauge
    case histogram
    case untyped
}

/// One label pair. Order is kept as given: renderers write labels in this order.
public struct Label: Sendable, Hashable {
    public var name: String
    public var value: String

    public init(_ name: String, _ value: String) {
        precondition(Label.isValidName(name), "invalid label name \(name)")
        self.name = name
        self.value = value
    }

    /// `[a-zA-Z_][a-zA-Z0-9_]*`, and not reserved (`__` prefix).
    public static func isValidName(_ name: String) -> Bool {
        guard let first = name.utf8.first, !name.hasPrefix("__") else { return false }
        guard first == UInt8(ascii: "_") || (first | 0x20 >= UInt8(ascii: "a") && first | 0x20 <= UInt8(ascii: "z")) else {
            return false
        }
        return name.utf8.allSatisfy { c in
            c == UInt8(ascii: "_") || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9"))
                || (c | 0x20 >= UInt8(ascii: "a") && c | 0x20 <= UInt8(ascii: "z"))
        }
    }
}

/// One sample: a full sample name (for histograms `x_bucket`, `x_sum`, `x_count`), its labels and a value.
public struct Sample: Sendable, Hashable {
    public var name: String
    public var labels: [Label]
    public var value: Double

    public init(name: String, labels: [Label] = [], value: Double) {
        self.name = name
        self.labels = labels
        self.value = value
    }

    /// The value of the label called `name`, if present.
    public func label(_ name: String) -> String? {
        labels.first { $0.name == name }?.value
    }
}

/// A metric family: a name, its help and type, and all of its samples. Collectors return families;
/// ``PrometheusTextFormat`` and ``GraphitePlaintext`` render them.
public struct MetricFamily: Sendable, Hashable {
    public var name: String
    public var help: String
    public var type: MetricType
    public var samples: [Sample]

    public init(name: String, help: String, type: MetricType, samples: [Sample]) {
        precondition(MetricFamily.isValidName(name), "invalid metric name \(name)")
        self.name = name
        self.help = help
        self.type = type
        self.samples = samples
    }

    /// Legacy Prometheus metric names without colons: `[a-zA-Z_][a-zA-Z0-9_]*`.
    public static func isValidName(_ name: String) -> Bool {
        !name.hasPrefix("__") && Label.isValidName(name)
    }

    /// A gauge family from (labels, value) pairs.
    public static func gauge(_ name: String, help: String, _ series: [([Label], Double)]) -> MetricFamily {
        MetricFamily(name: name, help: help, type: .gauge, samples: series.map { Sample(name: name, labels: $0.0, value: $0.1) })
    }

    /// A gauge family with one unlabelled sample.
    public static func gauge(_ name: String, help: String, value: Double) -> MetricFamily {
        gauge(name, help: help, [([], value)])
    }

    /// A counter family from (labels, value) pairs. The name must end in `_total`.
    public static func counter(_ name: String, help: String, _ series: [([Label], Double)]) -> MetricFamily {
        precondition(name.hasSuffix("_total"), "counter \(name) must end in _total")
        return MetricFamily(name: name, help: help, type: .counter, samples: series.map { Sample(name: name, labels: $0.0, value: $0.1) })
    }

    /// A histogram family from per-series bucket data.
    public static func histogram(_ name: String, help: String, _ series: [HistogramSeries]) -> MetricFamily {
        var samples: [Sample] = []
        for s in series {
            precondition(s.bounds.count + 1 == s.cumulativeCounts.count, "histogram \(name): one count per bound plus +Inf")
            precondition(zip(s.bounds, s.bounds.dropFirst()).allSatisfy { $0 < $1 }, "histogram \(name): bounds must increase")
            for (i, count) in s.cumulativeCounts.enumerated() {
                let le = i < s.bounds.count ? SampleValueFormat.prometheus(s.bounds[i]) : "+Inf"
                samples.append(Sample(name: name + "_bucket", labels: s.labels + [Label("le", le)], value: Double(count)))
            }
            samples.append(Sample(name: name + "_sum", labels: s.labels, value: s.sum))
            samples.append(Sample(name: name + "_count", labels: s.labels, value: Double(s.cumulativeCounts.last ?? 0)))
        }
        return MetricFamily(name: name, help: help, type: .histogram, samples: samples)
    }
}

/// Bucket data of one histogram series: `cumulativeCounts` has one entry per bound, then the `+Inf` count.
public struct HistogramSeries: Sendable, Hashable {
    public var labels: [Label]
    public var bounds: [Double]
    public var cumulativeCounts: [Int]
    public var sum: Double

    public init(labels: [Label], bounds: [Double], cumulativeCounts: [Int], sum: Double) {
        self.labels = labels
        self.bounds = bounds
        self.cumulativeCounts = cumulativeCounts
        self.sum = sum
    }

    /// Empty series with the given bounds.
    public init(labels: [Label], bounds: [Double]) {
        self.init(labels: labels, bounds: bounds, cumulativeCounts: Array(repeating: 0, count: bounds.count + 1), sum: 0)
    }

    /// Adds one observation.
    public mutating func observe(_ value: Double) {
        for i in bounds.indices where value <= bounds[i] {
            cumulativeCounts[i] += 1
        }
        cumulativeCounts[bounds.count] += 1
        sum += value
    }
}

extension Array where Element == MetricFamily {
    /// Merges families of the same name (in first-seen order), concatenating their samples.
    /// Families with one name must agree on type and help: a mismatch is a programming error.
    public func mergedByName() -> [MetricFamily] {
        var order: [String] = []
        var byName: [String: MetricFamily] = [:]
        for family in self {
            if var existing = byName[family.name] {
                precondition(existing.type == family.type, "metric \(family.name) has two types")
                precondition(existing.help == family.help, "metric \(family.name) has two help texts")
                existing.samples += family.samples
                byName[family.name] = existing
            } else {
                order.append(family.name)
                byName[family.name] = family
            }
        }
        return order.map { byName[$0]! }
    }
}
