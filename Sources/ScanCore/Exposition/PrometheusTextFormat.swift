/// Renders metric families as Prometheus text exposition format 0.0.4.
///
/// Each family is one contiguous group: `# HELP`, `# TYPE`, then its samples in the order given.
/// HELP escapes `\` and line feed; label values escape `\`, `"` and line feed. No timestamps.
/// The output always ends with a line feed.
public enum PrometheusTextFormat {
    /// The HTTP Content-Type of this format.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    public static func render(_ families: [MetricFamily]) -> String {
        var out = ""
        out.reserveCapacity(families.count * 256)
        for family in families {
            out += "# HELP \(family.name) \(escapeHelp(family.help))\n"
            out += "# TYPE \(family.name) \(family.type.rawValue)\n"
            for sample in family.samples {
                out += sample.name
                if !sample.labels.isEmpty {
                    out += "{"
                    var first = true
                    for label in sample.labels {
                        if !first { out += "," }
                        first = false
                        out += label.name
                        out += "=\""
                        out += escapeLabelValue(label.value)
                        out += "\""
                    }
                    out += "}"
                }
                out += " "
                out += SampleValueFormat.prometheus(sample.value)
                out += "\n"
            }
        }
        return out
    }

    /// HELP text: `\` → `\\`, line feed → `\n`.
    public static func escapeHelp(_ text: String) -> String {
        guard text.utf8.contains(where: { $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "\n") }) else { return text }
        var out = ""
        for ch in text.unicodeScalars {
            switch ch {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(ch)
            }
        }
        return out
    }

    /// Label value: `\` → `\\`, `"` → `\"`, line feed → `\n`.
    public static func escapeLabelValue(_ text: String) -> String {
        guard text.utf8.contains(where: { $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\"") })
        else { return text }
        var out = ""
        for ch in text.unicodeScalars {
            switch ch {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(ch)
            }
        }
        return out
    }
}

/// Number formatting shared by the renderers (C locale, no grouping).
public enum SampleValueFormat {
    /// Prometheus: integral values without a fraction (`3`, not `3.0`), `NaN`, `+Inf`, `-Inf`,
    /// otherwise Swift's shortest round-tripping form (which Go's ParseFloat reads, exponent included).
    public static func prometheus(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value < 0 ? "-Inf" : "+Inf" }
        if value == value.rounded(), abs(value) < 1e15 {
            return String(Int64(value))
        }
        return value.description
    }

    /// Graphite: plain decimal, never an exponent (carbon parses Python floats, but stay simple).
    /// Returns nil for NaN and infinities, which carbon cannot store.
    public static func graphite(_ value: Double) -> String? {
        guard value.isFinite else { return nil }
        if value == value.rounded(), abs(value) < 1e15 {
            return String(Int64(value))
        }
        let text = value.description
        guard text.contains("e") else { return text }
        return plainDecimal(value)
    }

    /// Expands a finite double into plain decimal digits (at most 17 significant digits).
    static func plainDecimal(_ value: Double) -> String {
        // Build from the scientific form "d.ddde±x" exactly, without Foundation.
        let text = value.magnitude.description
        let parts = text.split(separator: "e")
        guard parts.count == 2, let exponent = Int(parts[1]) else { return text }
        let mantissa = parts[0]
        let digits = mantissa.replacingOccurrences(of: ".")
        let pointIndex = (mantissa.firstIndex(of: ".").map { mantissa.distance(from: mantissa.startIndex, to: $0) } ?? mantissa.count)
            + exponent
        var result: String
        if pointIndex <= 0 {
            result = "0." + String(repeating: "0", count: -pointIndex) + digits
        } else if pointIndex >= digits.count {
            result = digits + String(repeating: "0", count: pointIndex - digits.count)
        } else {
            let i = digits.index(digits.startIndex, offsetBy: pointIndex)
            result = String(digits[..<i]) + "." + String(digits[i...])
        }
        return (value < 0 ? "-" : "") + result
    }
}

extension Substring {
    fileprivate func replacingOccurrences(of character: Character) -> String {
        String(self.filter { $0 != character })
    }
}
