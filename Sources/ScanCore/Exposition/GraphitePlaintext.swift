/// Renders metric families as Graphite plaintext protocol lines: `<path> <value> <timestamp>\n`.
///
/// Path of a sample: `<prefix>.<label values…>.<name>[.le_<bound>]`, where
/// - the label values come in the sample's label order (all labels but `le`), each sanitized;
/// - `<name>` is the sample name with the `virus_scan_` namespace removed (the prefix already says it),
///   so `virus_scan_queue_files{queue="incoming"}` → `virus_scan.host1.incoming.queue_files` and
///   `clamav_up` → `virus_scan.host1.clamav_up`;
/// - a histogram bucket gets its bound last: `….wait_seconds_bucket.le_60`, `….le_inf`.
///
/// Path components keep `[A-Za-z0-9_-]` only; every other byte becomes `_` (so dots in values such as
/// `1.4.3` cannot add levels), and an empty value becomes `none`. NaN and infinite values are skipped
/// (carbon drops or cannot store them). Timestamps are integer Unix seconds.
public enum GraphitePlaintext {
    public static let namespace = "virus_scan_"

    public static func render(_ families: [MetricFamily], prefix: String, timestamp: Int64) -> String {
        var out = ""
        for family in families {
            for sample in family.samples {
                guard let value = SampleValueFormat.graphite(sample.value) else { continue }
                out += path(for: sample, prefix: prefix)
                out += " "
                out += value
                out += " "
                out += String(timestamp)
                out += "\n"
            }
        }
        return out
    }

    public static func path(for sample: Sample, prefix: String) -> String {
        var components: [String] = prefix.isEmpty ? [] : [prefix]
        var le: String?
        for label in sample.labels {
            if label.name == "le" {
                le = label.value
            } else {
                components.append(sanitize(label.value))
            }
        }
        var name = sample.name
        if name.hasPrefix(namespace) { name.removeFirst(namespace.count) }
        components.append(sanitize(name))
        if let le {
            components.append("le_" + (le == "+Inf" ? "inf" : sanitize(le)))
        }
        return components.joined(separator: ".")
    }

    /// One path component: `[A-Za-z0-9_-]` kept, every other byte `_`; empty → `none`.
    public static func sanitize(_ component: String) -> String {
        if component.isEmpty { return "none" }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(component.utf8.count)
        for c in component.utf8 {
            let keep =
                (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z"))
                || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || c == UInt8(ascii: "_") || c == UInt8(ascii: "-")
            bytes.append(keep ? c : UInt8(ascii: "_"))
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `virus_scan.<host>` with the host name's dots (and anything else outside `[A-Za-z0-9_-]`) as `_`.
    public static func defaultPrefix(hostname: String) -> String {
        "virus_scan." + sanitize(hostname)
    }
}
