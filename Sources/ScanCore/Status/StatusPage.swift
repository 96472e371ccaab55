#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// The in-memory history behind the page's charts: one ``StatusSample`` per gathering, at most
/// `capacity` of them (the oldest dropped). The default, 1,440 points at the exporter's default
/// one-minute interval, is 24 hours; a sample of two queues is about 200 bytes, so the ring stays
/// under 300 KiB.
public final class StatusHistory: Sendable {
    public let capacity: Int
    private let ring: Mutex<[StatusSample]>

    public static let defaultCapacity = 1440

    public init(capacity: Int = defaultCapacity) {
        precondition(capacity > 0, "capacity must be positive")
        self.capacity = capacity
        self.ring = Mutex([])
    }

    public func append(_ sample: StatusSample) {
        ring.withLock { samples in
            samples.append(sample)
            if samples.count > capacity { samples.removeFirst(samples.count - capacity) }
        }
    }

    /// The samples, oldest first.
    public var samples: [StatusSample] { ring.withLock { $0 } }
}

/// The status page: server-rendered HTML (no JavaScript, no external assets; the stylesheet is
/// served beside it as `/status.css`), every text from the pipeline escaped.
public enum StatusPage {
    /// The Content-Security-Policy the exporter serves the page with: nothing but its own stylesheet.
    public static let contentSecurityPolicy =
        "default-src 'none'; style-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

    public static func render(_ status: PipelineStatus, refresh: Int? = nil) -> String {
        var html = """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">

            """
        if let refresh { html += "<meta http-equiv=\"refresh\" content=\"\(refresh)\">\n" }
        html += """
            <title>\(escape(status.state)) – virus scan pipeline</title>
            <link rel="stylesheet" href="status.css">
            </head>
            <body>
            <header>
            <h1>Virus scan pipeline: \(badge(status.state))</h1>
            <p>Generated \(escape(timestamp(status.generated))) by virus_scan_exporter \(escape(status.version)) in \(escape(seconds(status.gatherSeconds))); thresholds: \(escape(status.thresholds)).
            <a href="status.json">status.json</a> · <a href="metrics">metrics</a> · <a href="?refresh=60">refresh every minute</a></p>
            </header>
            <main>

            """
        let problems = status.problems
        html += "<section id=\"problems\" aria-labelledby=\"problems-title\">\n<h2 id=\"problems-title\">What needs doing</h2>\n"
        if problems.isEmpty {
            html += "<p class=\"all-ok\">✔ Nothing: every part is OK.</p>\n"
        } else {
            html += "<ol>\n"
            for part in problems {
                html += "<li class=\"problem \(cssClass(part.state))\" data-mode=\"\(escape(part.mode))\"\(part.queue.map { " data-queue=\"\(escape($0))\"" } ?? "")>"
                html += "<h3>\(badge(part.state)) \(escape(title(part)))</h3>\n<p class=\"summary\">\(escape(part.summary))</p>\n"
                if let step = part.runbook {
                    html += "<p class=\"meaning\">\(escape(step.meaning))</p>\n<pre class=\"command\"><code>\(escape(step.command))</code></pre>\n"
                }
                html += "</li>\n"
            }
            html += "</ol>\n"
        }
        html += "</section>\n"
        for queue in status.queues { html += render(queue, history: status.history) }
        html += "<section id=\"services\" aria-labelledby=\"services-title\">\n<h2 id=\"services-title\">clamd, signatures, rescan</h2>\n"
        html += table(status.services)
        html += "</section>\n</main>\n</body>\n</html>\n"
        return html
    }

    static func render(_ queue: QueueStatus, history: [StatusSample]) -> String {
        let id = "queue-" + anchor(queue.name)
        var html = "<section class=\"queue\" id=\"\(id)\" aria-labelledby=\"\(id)-title\">\n"
        html += "<h2 id=\"\(id)-title\">Queue \(escape(queue.name))</h2>\n<p class=\"directory\"><code>\(escape(queue.directory))</code></p>\n"
        html += "<dl class=\"numbers\">"
        html += "<div><dt>Waiting</dt><dd>\(queue.files.map { "\($0) files" } ?? "unreadable")\(queue.bytes.map { ", " + escape(ByteText.format(Double($0))) } ?? "")</dd></div>"
        html += "<div><dt>Oldest</dt><dd>\(queue.oldestAge.map { escape(DurationText.format($0)) } ?? "–")</dd></div>"
        html += "<div><dt>Wait (percentile)</dt><dd>\(queue.waitPercentile.map { escape(DurationText.format($0)) } ?? "nothing processed")</dd></div>"
        html += "</dl>\n"
        html += table(queue.parts)
        if !queue.oldest.isEmpty {
            html += "<h3>Oldest waiting files</h3>\n<table class=\"files\"><thead><tr><th scope=\"col\">File</th><th scope=\"col\">Waiting</th><th scope=\"col\">Size</th></tr></thead><tbody>\n"
            for file in queue.oldest {
                html += "<tr><td><code>\(escape(file.path))</code></td><td>\(escape(DurationText.format(file.age)))</td><td>\(escape(ByteText.format(Double(file.size))))</td></tr>\n"
            }
            html += "</tbody></table>\n"
        }
        let backlog = history.map { ($0.time, $0.backlog[queue.name].map(Double.init)) }
        let wait = history.map { ($0.time, $0.wait[queue.name]) }
        html += "<div class=\"charts\">\n"
        html += StatusChart.svg(title: "Backlog of \(queue.name), last 24 hours (files)", id: "\(id)-backlog", points: backlog, unit: .count)
        html += StatusChart.svg(title: "Wait of \(queue.name), last 24 hours", id: "\(id)-wait", points: wait, unit: .seconds)
        html += "</div>\n</section>\n"
        return html
    }

    static func table(_ parts: [StatusPart]) -> String {
        var html = "<table class=\"parts\"><thead><tr><th scope=\"col\">Check</th><th scope=\"col\">State</th><th scope=\"col\">What it says</th></tr></thead><tbody>\n"
        for part in parts {
            html += "<tr class=\"\(cssClass(part.state))\" data-mode=\"\(escape(part.mode))\"><th scope=\"row\">\(escape(part.mode))\(part.endpoint.map { " <code>\(escape($0))</code>" } ?? "")</th><td>\(badge(part.state))</td><td>\(escape(part.summary))"
            if !part.details.isEmpty {
                html += "<details><summary>details</summary><pre>\(escape(part.details.joined(separator: "\n")))</pre></details>"
            }
            html += "</td></tr>\n"
        }
        return html + "</tbody></table>\n"
    }

    static func title(_ part: StatusPart) -> String {
        part.queue.map { "\(part.mode) of queue \($0)" } ?? part.endpoint.map { "\(part.mode) \($0)" } ?? part.mode
    }

    /// The state as a word with an icon (never colour alone).
    static func badge(_ state: String) -> String {
        let icon = switch state {
        case "OK": "✔"
        case "WARNING": "⚠"
        case "CRITICAL": "✖"
        default: "?"
        }
        return "<span class=\"badge \(cssClass(state))\"><span aria-hidden=\"true\">\(icon)</span> \(escape(state))</span>"
    }

    static func cssClass(_ state: String) -> String {
        switch state {
        case "OK": "state-ok"
        case "WARNING": "state-warning"
        case "CRITICAL": "state-critical"
        default: "state-unknown"
        }
    }

    static func anchor(_ name: String) -> String {
        String(name.unicodeScalars.map { scalar -> Character in
            scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || scalar == "-" ? Character(scalar) : "_"
        })
    }

    /// Text for HTML content and attribute values: `& < > " '` escaped.
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }

    static func timestamp(_ epoch: Double) -> String {
        var time = time_t(epoch)
        var parts = tm()
        gmtime_r(&time, &parts)
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday)) \(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) UTC"
    }

    static func seconds(_ value: Double) -> String {
        value < 1 ? "\(Int((value * 1000).rounded())) ms" : "\(PerfDatum.format((value * 100).rounded() / 100)) s"
    }

    /// The page's stylesheet (served as `/status.css`).
    public static let stylesheet = """
        body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #1b1b1b; background: #fafafa; line-height: 1.4; }
        h1 { font-size: 1.5rem; } h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #ccc; }
        .badge { display: inline-block; padding: 0 .4em; border-radius: .3em; font-weight: bold; border: 1px solid; }
        .state-ok .badge, .badge.state-ok { color: #0a5a0a; background: #e3f4e3; }
        .badge.state-warning { color: #6b4a00; background: #fff3cd; }
        .badge.state-critical { color: #8b0000; background: #fde2e2; }
        .badge.state-unknown { color: #3b3b6b; background: #e6e6f7; }
        li.problem { margin-bottom: 1rem; } li.problem h3 { margin: 0; font-size: 1.05rem; }
        pre.command { background: #1b1b1b; color: #f5f5f5; padding: .6rem; overflow-x: auto; user-select: all; }
        table { border-collapse: collapse; margin: .5rem 0; } th, td { text-align: left; padding: .2rem .6rem; border-bottom: 1px solid #ddd; vertical-align: top; }
        dl.numbers { display: flex; gap: 2rem; } dl.numbers dt { font-size: .85rem; color: #555; } dl.numbers dd { margin: 0; font-size: 1.2rem; }
        .charts { display: flex; flex-wrap: wrap; gap: 1.5rem; } figure { margin: 0; } svg { background: #fff; border: 1px solid #ccc; }
        svg .line { fill: none; stroke: #1f5fa8; stroke-width: 2; } svg .axis { stroke: #999; } svg text { font-size: 11px; fill: #333; }
        code { overflow-wrap: anywhere; }

        """
}

/// An inline SVG line chart of one series, with its latest, minimum and maximum beside it.
enum StatusChart {
    enum Unit { case count, seconds }

    static let width = 480.0
    static let height = 160.0
    static let margin = 36.0

    static func svg(title: String, id: String, points: [(Double, Double?)], unit: Unit) -> String {
        let known = points.compactMap { point in point.1.map { (point.0, $0) } }
        func text(_ value: Double) -> String {
            unit == .seconds ? DurationText.format(value) : PerfDatum.format(value.rounded())
        }
        var svg = "<figure class=\"chart\" id=\"\(id)\"><svg role=\"img\" aria-labelledby=\"\(id)-t\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" xmlns=\"http://www.w3.org/2000/svg\">"
        svg += "<title id=\"\(id)-t\">\(StatusPage.escape(title))</title>"
        svg += "<line class=\"axis\" x1=\"\(margin)\" y1=\"\(height - 20)\" x2=\"\(width - 8)\" y2=\"\(height - 20)\"/>"
        svg += "<line class=\"axis\" x1=\"\(margin)\" y1=\"8\" x2=\"\(margin)\" y2=\"\(height - 20)\"/>"
        var caption: String
        if known.isEmpty {
            svg += "<text x=\"\(margin + 10)\" y=\"\(height / 2)\">no data yet</text>"
            caption = "no data yet"
        } else {
            let t0 = known.first!.0, t1 = max(known.last!.0, t0 + 1)
            let top = max(known.map(\.1).max()!, 1)
            let coordinates = known.map { point -> String in
                let x = margin + (point.0 - t0) / (t1 - t0) * (width - margin - 8)
                let y = (height - 20) - point.1 / top * (height - 28)
                return "\(format(x)),\(format(y))"
            }
            svg += "<polyline class=\"line\" points=\"\(coordinates.joined(separator: " "))\"/>"
            svg += "<text x=\"2\" y=\"14\">\(StatusPage.escape(text(top)))</text><text x=\"2\" y=\"\(height - 22)\">0</text>"
            svg += "<text x=\"\(margin)\" y=\"\(height - 6)\">\(StatusPage.escape(DurationText.format(t1 - t0))) ago</text>"
            svg += "<text x=\"\(width - 40)\" y=\"\(height - 6)\">now</text>"
            let values = known.map(\.1)
            caption = "now \(text(values.last!)), min \(text(values.min()!)), max \(text(values.max()!)) over \(known.count) points"
        }
        svg += "</svg><figcaption>\(StatusPage.escape(title)): \(StatusPage.escape(caption))</figcaption></figure>\n"
        return svg
    }

    static func format(_ value: Double) -> String { PerfDatum.format((value * 10).rounded() / 10) }
}
