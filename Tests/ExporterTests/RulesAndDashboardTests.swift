import Foundation
import ScanCore
import Testing

@testable import exporter

/// Everything the dashboard and the alert rules name must parse and must be exported for real.
@Suite("Alert rules and Grafana dashboard")
struct RulesAndDashboardTests {
    static let dashboardPath = repositoryRoot + "/grafana/virus-scan.json"
    static let rulesPath = repositoryRoot + "/prometheus/alerts.yml"

    func dashboard() throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: Self.dashboardPath))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    func panels() throws -> [[String: Any]] {
        try #require(try dashboard()["panels"] as? [[String: Any]])
    }

    /// Every target expression of the dashboard, with Grafana's variables replaced by valid PromQL.
    func dashboardExpressions() throws -> [String] {
        try panels().flatMap { panel in
            ((panel["targets"] as? [[String: Any]]) ?? []).compactMap { $0["expr"] as? String }
        }.map(Self.substituteVariables)
    }

    static func substituteVariables(_ expr: String) -> String {
        var e = expr
        for (from, to) in [("$__rate_interval", "5m"), ("$__interval", "1m"), ("$__range", "1h"), ("${job}", "x"), ("${instance}", "x"),
                           ("${queue}", "x"), ("$job", "x"), ("$instance", "x"), ("$queue", "x")] {
            e = e.replacingOccurrences(of: from, with: to)
        }
        return e
    }

    /// Alert rule expressions, read from alerts.yml (`expr:` blocks).
    func ruleExpressions() throws -> [String] {
        let text = try String(contentsOfFile: Self.rulesPath, encoding: .utf8)
        var exprs: [String] = []
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)[...]
        while let line = lines.popFirst() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard trimmed.hasPrefix("expr:") else { continue }
            let rest = trimmed.dropFirst(5).trimmingCharacters(in: .whitespaces)
            if rest == "|" {
                var block: [String] = []
                while let next = lines.first, next.hasPrefix("          ") {
                    block.append(next.trimmingCharacters(in: .whitespaces))
                    lines.removeFirst()
                }
                exprs.append(block.joined(separator: " "))
            } else {
                exprs.append(rest)
            }
        }
        return exprs
    }

    /// Metric names in a PromQL expression: identifiers of our namespaces, plus `up`.
    static func metricNames(in expr: String) -> Set<String> {
        let regex = try! NSRegularExpression(pattern: "\\b((?:virus_scan|clamav)_[a-z0-9_]+|up)\\b(?=\\s*[{\\[)\\s]|$)")
        let range = NSRange(expr.startIndex..., in: expr)
        return Set(regex.matches(in: expr, range: range).compactMap { Range($0.range(at: 1), in: expr).map { String(expr[$0]) } })
    }

    // MARK: Structure (conventions §5.4)

    @Test func dashboardStructure() throws {
        let dash = try dashboard()
        #expect((dash["uid"] as? String) == "virus-scan-overview")
        #expect((dash["title"] as? String)?.isEmpty == false)
        #expect((dash["schemaVersion"] as? Int) == 39)
        #expect((dash["editable"] as? Bool) == false)
        #expect(dash["refresh"] is String)
        #expect(dash["__inputs"] == nil)
        let raw = try String(contentsOfFile: Self.dashboardPath, encoding: .utf8)
        #expect(!raw.contains("${DS_"))

        let panels = try panels()
        #expect(panels.count >= 15)
        let ids = panels.compactMap { $0["id"] as? Int }
        #expect(ids.count == panels.count)
        #expect(Set(ids).count == ids.count)
        var rects: [(Int, Int, Int, Int, String)] = []
        let units: Set<String> = ["s", "short", "bytes", "none", "cpm", "percentunit", "dtdurations", "dateTimeFromNow"]
        for panel in panels {
            let title = panel["title"] as? String ?? ""
            #expect(!title.isEmpty)
            #expect((panel["description"] as? String)?.isEmpty == false, "\(title): description")
            let unit = ((panel["fieldConfig"] as? [String: Any])?["defaults"] as? [String: Any])?["unit"] as? String
            #expect(unit.map(units.contains) == true, "\(title): unit \(unit ?? "nil")")
            let ds = panel["datasource"] as? [String: Any]
            #expect(ds?["uid"] as? String == "${datasource}", "\(title): datasource")
            #expect(ds?["type"] as? String == "prometheus")
            let targets = panel["targets"] as? [[String: Any]] ?? []
            #expect(!targets.isEmpty, "\(title): targets")
            for target in targets {
                #expect((target["datasource"] as? [String: Any])?["uid"] as? String == "${datasource}", "\(title): target datasource")
                #expect((target["expr"] as? String)?.isEmpty == false)
            }
            let grid = try #require(panel["gridPos"] as? [String: Int])
            let (x, y, w, h) = (grid["x"] ?? -1, grid["y"] ?? -1, grid["w"] ?? 0, grid["h"] ?? 0)
            #expect(x >= 0 && w > 0 && x + w <= 24 && h > 0, "\(title): gridPos")
            for other in rects {
                let overlaps = x < other.0 + other.2 && other.0 < x + w && y < other.1 + other.3 && other.1 < y + h
                #expect(!overlaps, "\(title) overlaps \(other.4)")
            }
            rects.append((x, y, w, h, title))
        }
        // The panels the issue asks for.
        let titles = Set(panels.compactMap { $0["title"] as? String })
        for wanted in [
            "Documents processed per minute", "Wait time: placed on disk → scanned", "Backlog by queue", "Oldest waiting file",
            "Files waiting longer than 20 min", "Infections", "Scan errors", "clamd up", "clamd queue", "clamd threads", "clamd memory",
            "Signature age: disk vs loaded",
        ] {
            #expect(titles.contains(wanted), "missing panel \(wanted)")
        }
    }

    @Test func dashboardVariables() throws {
        let list = try #require((try dashboard()["templating"] as? [String: Any])?["list"] as? [[String: Any]])
        let datasources = list.filter { $0["type"] as? String == "datasource" }
        #expect(datasources.count == 1)
        #expect(datasources.first?["name"] as? String == "datasource")
        #expect(datasources.first?["label"] as? String == "Data source")
        #expect(datasources.first?["query"] as? String == "prometheus")
        for name in ["job", "instance", "queue"] {
            let variable = try #require(list.first { $0["name"] as? String == name }, "variable \(name)")
            #expect(variable["type"] as? String == "query")
            #expect(variable["multi"] as? Bool == true)
            #expect(variable["includeAll"] as? Bool == true)
            #expect(variable["allValue"] as? String == ".+")
            #expect(variable["refresh"] as? Int == 2)
            #expect((variable["datasource"] as? [String: Any])?["uid"] as? String == "${datasource}")
        }
    }

    /// A pool of clamd daemons (issue 13): every clamd panel filters by the endpoint variable and
    /// names the endpoint in its legend; the variable matches unlabelled series too (one daemon).
    @Test func clamdPanelsAreByEndpoint() throws {
        let list = try #require((try dashboard()["templating"] as? [String: Any])?["list"] as? [[String: Any]])
        let variable = try #require(list.first { $0["name"] as? String == "endpoint" }, "variable endpoint")
        #expect(variable["type"] as? String == "query")
        #expect(variable["definition"] as? String == "label_values(clamav_up{job=~\"$job\",instance=~\"$instance\"}, endpoint)")
        #expect(variable["allValue"] as? String == ".*")
        #expect(variable["multi"] as? Bool == true)
        var clamdTargets = 0
        for panel in try panels() {
            for target in (panel["targets"] as? [[String: Any]]) ?? [] {
                guard let expr = target["expr"] as? String, expr.contains("clamav_") else { continue }
                clamdTargets += 1
                #expect(expr.contains("endpoint=~\"$endpoint\""), "\(panel["title"] ?? ""): \(expr)")
                #expect((target["legendFormat"] as? String)?.contains("{{endpoint}}") == true, "\(panel["title"] ?? ""): legend")
                if expr.contains("max by (") { #expect(expr.contains("endpoint) ("), "\(expr) aggregates the endpoints away") }
            }
        }
        #expect(clamdTargets == 7)
    }

    @Test func countersAreRatedAndSnapshotHistogramIsNot() throws {
        for expr in try dashboardExpressions() + ruleExpressions() {
            if expr.contains("_total") {
                #expect(expr.contains("rate(") || expr.contains("increase("), "\(expr)")
            }
            if expr.contains("virus_scan_queue_file_age_seconds") {
                #expect(!expr.contains("rate(") && !expr.contains("increase("), "\(expr)")
            }
            if expr.contains("virus_scan_wait_seconds_bucket") {
                #expect(expr.contains("rate("), "\(expr)")
            }
        }
    }

    // MARK: promtool

    @Test func everyExpressionParsesWithPromtool() throws {
        let exprs = try dashboardExpressions() + ruleExpressions()
        #expect(exprs.count >= 25)
        var yaml = "groups:\n  - name: expressions\n    rules:\n"
        for (index, expr) in exprs.enumerated() {
            let quoted = "'" + expr.replacingOccurrences(of: "'", with: "''") + "'"
            yaml += "      - record: expression:\(index)\n        expr: \(quoted)\n"
        }
        let path = NSTemporaryDirectory() + "vse-exprs-\(UUID().uuidString.prefix(8)).yml"
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = try runProgram("/usr/bin/promtool", ["check", "rules", path])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("SUCCESS: \(exprs.count) rules found"), "\(result.stdout)")
    }

    @Test func alertRulesCheckAndUnitTestsPass() throws {
        let check = try runProgram("/usr/bin/promtool", ["check", "rules", Self.rulesPath])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        #expect(check.stdout.contains("SUCCESS: 17 rules found"), "\(check.stdout)")
        let test = try runProgram("/usr/bin/promtool", ["test", "rules", "alerts_test.yml"], currentDirectory: repositoryRoot + "/prometheus")
        #expect(test.status == 0, "\(test.stdout)\(test.stderr)")
        #expect(test.stdout.contains("SUCCESS"))
        // Every alert the issue asks for has a unit test.
        let tests = try String(contentsOfFile: repositoryRoot + "/prometheus/alerts_test.yml", encoding: .utf8)
        for alert in [
            "VirusScanBacklogGrowing", "VirusScanWaitHigh", "VirusScanWaitCritical", "VirusScanStuck", "ClamdDown", "ClamAVSignaturesOld",
            "ClamAVDatabaseMismatch", "VirusScanCollectorFailing", "VirusScanExporterDown", "ClamAVNoSignatures", "VirusScanWatchDown", "VirusScanWatchMissingFiles",
            "VirusScanDetectionStorm",
            "VirusScanHeldFiles",
            "ClamdPoolMemberDown", "VirusScanClamdUnreachable", "ClamdDatabaseVersionSkew",
        ] {
            #expect(tests.contains("alertname: \(alert)"), "\(alert) has no unit test")
            #expect(try String(contentsOfFile: Self.rulesPath, encoding: .utf8).contains("alert: \(alert)"))
        }
    }

    // MARK: against a real scrape

    @Test func realScrapeIsCleanAndExportsEveryNameTheRulesAndPanelsUse() async throws {
        let scrape = try await RealScrape.text()
        let lint = try runProgram("/usr/bin/promtool", ["check", "metrics"], input: scrape)
        #expect(lint.status == 0, "promtool check metrics: \(lint.stdout)\(lint.stderr)")
        #expect(lint.stdout.isEmpty && lint.stderr.isEmpty, "\(lint.stdout)\(lint.stderr)")

        let exported = Set(parseSamples(scrape).keys.map { key in String(key.prefix { $0 != "{" }) })
        var used: Set<String> = []
        for expr in try dashboardExpressions() + ruleExpressions() {
            used.formUnion(Self.metricNames(in: expr))
        }
        used.remove("up")  // Prometheus's own
        #expect(used.count >= 15)
        for name in used.sorted() {
            #expect(exported.contains(name), "\(name) is used by a panel or rule but not exported")
        }
        // Variables' queries too.
        #expect(exported.contains("virus_scan_exporter_build_info"))
        #expect(exported.contains("virus_scan_queue_files"))
    }
}
