import Foundation
import ScanCore
import ScanCoreTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The shipped Icinga 2 configuration, checked by a real icinga2: validation with `daemon -C`, and a
/// foreground daemon that runs the plugin through the `virus_scan` CheckCommand while the test ages
/// a backlog, with states and perfdata read back from the PerfdataWriter's files.
@Suite("Icinga 2", .serialized, .enabled(if: Icinga.available))
struct IcingaTests {
    @Test func shippedConfigValidates() throws {
        let icinga = try Icinga()
        let run = try icinga.run(["daemon", "-C", "-c", Icinga.shipped + "/test-main.conf"])
        #expect(run.exitCode == 0, "\(run.output)")
        #expect(run.output.contains("Instantiated 10 Services."), "\(run.output)")
        #expect(run.output.contains("Finished validating the configuration file(s)."))

        let objects = try icinga.objects()
        let services = objects.filter { $0["type"] as? String == "Service" }.compactMap { $0["name"] as? String }.sorted()
        let expected = ["age", "backlog", "infected", "stuck", "wait"].flatMap { mode in
            ["incoming", "draft-incoming"].map { "virus-scan-\(mode)-\($0)" }
        }.sorted()
        #expect(services == expected)

        func vars(_ name: String) -> [String: Any] {
            let object = objects.first { $0["type"] as? String == "Service" && $0["name"] as? String == name }
            return (object?["properties"] as? [String: Any])?["vars"] as? [String: Any] ?? [:]
        }
        let wait = vars("virus-scan-wait-incoming")
        #expect(wait["virus_scan_mode"] as? String == "wait")
        #expect(wait["virus_scan_warning"] as? Int == 1200)
        #expect(wait["virus_scan_critical"] as? Int == 2400)
        #expect(wait["virus_scan_percentile"] as? Int == 90)
        #expect(wait["virus_scan_queue"] as? String == "incoming")
        #expect(vars("virus-scan-stuck-draft-incoming")["virus_scan_window"] as? String == "30m")
        #expect(vars("virus-scan-backlog-draft-incoming")["virus_scan_warning"] as? Int == 50)
        #expect(vars("virus-scan-backlog-incoming")["virus_scan_warning"] as? Int == 100)
        #expect(vars("virus-scan-age-incoming")["virus_scan_critical"] as? String == "40m")

        let command = try #require(objects.first { $0["type"] as? String == "CheckCommand" && $0["name"] as? String == "virus_scan" })
        let properties = try #require(command["properties"] as? [String: Any])
        #expect(properties["timeout"] as? Int == 30)
        let commandVars = try #require(properties["vars"] as? [String: Any])
        #expect(commandVars["virus_scan_timeout"] as? Int == 20)
        let arguments = try #require(properties["arguments"] as? [String: Any])
        for (key, value) in arguments {
            let argument = try #require(value as? [String: Any], "\(key)")
            #expect((argument["description"] as? String)?.isEmpty == false, "\(key) has no description")
        }
    }

    /// The validator really validates: a service naming an unknown command is rejected.
    @Test func brokenConfigIsRejected() throws {
        let icinga = try Icinga()
        let main = icinga.base + "/broken.conf"
        try """
            const CustomPluginDir = "/nonexistent"
            include <itl>
            include "\(Icinga.shipped)/virus_scan.conf"
            object Host "h" { check_command = "dummy" }
            object Service "s" { host_name = "h"; check_command = "virus_scan_typo" }
            """.write(toFile: main, atomically: true, encoding: .utf8)
        let run = try icinga.run(["daemon", "-C", "-c", main])
        #expect(run.exitCode == 1)
        #expect(run.output.contains("virus_scan_typo"), "\(run.output)")
    }

    /// Every option the CheckCommand passes is one the plugin accepts (in some mode's --help).
    @Test func everyCommandOptionExistsInThePlugin() throws {
        let text = try String(contentsOfFile: Icinga.shipped + "/virus_scan.conf", encoding: .utf8)
        let keys = text.matches(of: #/"(--[a-z-]+)" = \{/#).map { String($0.1) }
        #expect(keys.count >= 15)
        var help = ""
        for mode in ["backlog", "age", "wait", "stuck", "infected", "clamd", "signatures", "probe", "rescan", "all"] { help += try Plugin.run([mode, "--help"]).stdout }
        for key in keys { #expect(help.contains(key), "\(key) is not an option of check_virus_scan") }
    }

    /// Icinga's own perfdata parser accepts every item the plugin prints, with the same numbers.
    @Test func perfdataParsesInIcinga() throws {
        let tree = try PipelineTree()
        try tree.file("incoming/a", size: 1234, age: 90)
        let run = try Plugin.run(tree.args("age", ["-w", "1m", "-c", "@2m:3m"]))
        #expect(run.exitCode == 1)
        let items = run.statusLine.split(separator: "|")[1].split(separator: " ")
        let icinga = try Icinga()
        for item in items {
            let parsed = try icinga.run(["console", "-e", "parse_performance_data(\"\(item)\")"])
            #expect(parsed.exitCode == 0, "\(item): \(parsed.output)")
            let json = try #require(try JSONSerialization.jsonObject(with: Data(parsed.output.utf8)) as? [String: Any], "\(item): \(parsed.output)")
            let mine = try #require(PerfItem.parseAll("x | " + item).first)
            #expect(json["label"] as? String == mine.label)
            #expect((json["value"] as? NSNumber)?.doubleValue == mine.value, "\(item) → \(json)")
        }
        let age = try icinga.run(["console", "-e", "parse_performance_data(\"'oldest_age'=90s;60;@120:180;0\")"])
        #expect(age.output.contains("\"unit\":\"seconds\"") && age.output.contains("\"warn\":60") && age.output.contains("\"min\":0"), "\(age.output)")
        #expect(items.first == "'oldest_age'=90s;60;@120:180;0")
    }

    /// A real icinga2 in the foreground runs the shipped CheckCommand every second; the test ages the
    /// backlog and reads OK, then WARNING, then CRITICAL back from the perfdata files.
    @Test func daemonRunsTheCheckThroughTheStates() throws {
        let icinga = try Icinga()
        let tree = try PipelineTree()
        for index in 0..<3 { try tree.file("incoming/f\(index).pdf", age: 60) }
        let perf = icinga.base + "/perfdata"
        try FileManager.default.createDirectory(atPath: perf, withIntermediateDirectories: true)
        func service(_ name: String, _ mode: String, _ vars: String) -> String {
            """
            object Service "\(name)" {
              host_name = "e2e"
              check_command = "virus_scan"
              check_interval = 1s
              retry_interval = 1s
              max_check_attempts = 1
              vars.virus_scan_mode = "\(mode)"
              vars.virus_scan_root = "\(tree.root)"
              vars.virus_scan_state_dir = "\(tree.root)/state"
              vars.virus_scan_queue = [ "incoming" ]
              \(vars)
            }

            """
        }
        let main = icinga.base + "/main.conf"
        try ("""
            \(Icinga.checkerPreamble(perfdata: perf))

            """
            + service("backlog", "backlog", "vars.virus_scan_warning = 5\n  vars.virus_scan_critical = 10")
            + service("age", "age", "vars.virus_scan_warning = \"20m\"\n  vars.virus_scan_critical = \"40m\"")
            + service("stuck", "stuck", "vars.virus_scan_window = \"30m\"")
        ).write(toFile: main, atomically: true, encoding: .utf8)

        let daemon = try icinga.start(["daemon", "-c", main, "-x", "warning"])
        defer { daemon.stop() }

        // 1: three fresh files.
        let ok = try icinga.waitFor(perf, after: Date().timeIntervalSince1970, states: ["backlog": "OK", "age": "OK", "stuck": "OK"], daemon: daemon)
        #expect(ok["backlog"]?.perfdata.hasPrefix("backlog=3;5;10;0 ") == true, "\(ok)")
        #expect(ok["backlog"]?.output.hasPrefix("VIRUS_SCAN OK - 3 files queued; oldest 1m") == true, "\(ok)")

        // 2: seven files, 25 minutes old.
        for index in 3..<7 { try tree.file("incoming/f\(index).pdf", age: 60) }
        for index in 0..<7 { try tree.setAge("incoming/f\(index).pdf", 25 * 60 + (Date().timeIntervalSince1970 - tree.now)) }
        let warning = try icinga.waitFor(perf, after: Date().timeIntervalSince1970, states: ["backlog": "WARNING", "age": "WARNING", "stuck": "OK"], daemon: daemon)
        #expect(warning["backlog"]?.code == 1)
        #expect(warning["backlog"]?.perfdata.hasPrefix("backlog=7;5;10;0 ") == true, "\(warning)")
        #expect(warning["age"]?.output.hasPrefix("VIRUS_SCAN WARNING - oldest waiting file 25m") == true, "\(warning)")
        #expect(warning["age"]?.output.contains(" old: incoming/f") == true, "\(warning)")
        #expect(warning["age"]?.output.contains("(warning above 20m); 7 files queued") == true, "\(warning)")
        let agePerf = try #require(warning["age"]?.perfdata.split(separator: " ").first)
        #expect(agePerf.hasPrefix("oldest_age=15") && agePerf.hasSuffix("s;1200;2400;0"), "\(agePerf)")

        // 3: twelve files, 45 minutes old, nothing processed: everything CRITICAL.
        for index in 7..<12 { try tree.file("incoming/f\(index).pdf", age: 60) }
        for index in 0..<12 { try tree.setAge("incoming/f\(index).pdf", 45 * 60 + (Date().timeIntervalSince1970 - tree.now)) }
        let critical = try icinga.waitFor(perf, after: Date().timeIntervalSince1970, states: ["backlog": "CRITICAL", "age": "CRITICAL", "stuck": "CRITICAL"], daemon: daemon)
        #expect(critical["backlog"]?.code == 2)
        #expect(critical["backlog"]?.output.hasPrefix("VIRUS_SCAN CRITICAL - 12 files queued (critical above 10); oldest 45m") == true, "\(critical)")
        #expect(critical["stuck"]?.output.hasPrefix("VIRUS_SCAN CRITICAL - incoming stuck: oldest file waiting 45m") == true, "\(critical)")
        #expect(critical["stuck"]?.output.contains(" and nothing processed in the last 30m") == true, "\(critical)")
        #expect(critical["stuck"]?.perfdata.hasPrefix("incoming_oldest_age=2") == true)
    }
}

/// The CheckCommand over a pool of clamd daemons (issue 13): repeated --socket/--tcp from array
/// variables and --min-up, validated and run by a real icinga2 against two real clamd.
@Suite("Icinga 2 with a clamd pool", .serialized, .enabled(if: Icinga.available && FileManager.default.isExecutableFile(atPath: ClamdProcess.executable)))
struct IcingaClamdPoolTests {
    /// services.conf.example's pool service, for a host that sets vars.virus_scan_clamd_pool.
    @Test func poolServiceOfTheExampleValidates() throws {
        let icinga = try Icinga()
        let main = icinga.base + "/pool.conf"
        try """
            const PluginDir = "/usr/lib/nagios/plugins"
            const CustomPluginDir = "/usr/local/lib/nagios/plugins"
            const NodeName = "clamd-pool.example.org"
            const ZoneName = NodeName
            include <itl>
            include <plugins>
            include "\(Icinga.shipped)/virus_scan.conf"
            include "\(Icinga.shipped)/services.conf.example"
            object Host "clamd-pool.example.org" {
              check_command = "dummy"
              vars.virus_scan_queues = { }
              vars.virus_scan_clamd_pool = {
                sockets = [ "/run/clamav/clamd.ctl" ]
                tcp = [ "10.0.0.5:3310", "10.0.0.6:3310" ]
                min_up = 2
              }
            }
            """.write(toFile: main, atomically: true, encoding: .utf8)
        let run = try icinga.run(["daemon", "-C", "-c", main])
        #expect(run.exitCode == 0, "\(run.output)")
        #expect(run.output.contains("Instantiated 11 Services."), "\(run.output)")
        let objects = try icinga.objects()
        let pool = try #require(objects.first { $0["type"] as? String == "Service" && ($0["name"] as? String)?.hasSuffix("virus-scan-clamd-pool") == true })
        let vars = try #require((pool["properties"] as? [String: Any])?["vars"] as? [String: Any])
        #expect(vars["virus_scan_mode"] as? String == "clamd")
        #expect(vars["virus_scan_socket"] as? [String] == ["/run/clamav/clamd.ctl"])
        #expect(vars["virus_scan_tcp"] as? [String] == ["10.0.0.5:3310", "10.0.0.6:3310"])
        #expect(vars["virus_scan_min_up"] as? Int == 2)
        let command = try #require(objects.first { $0["type"] as? String == "CheckCommand" && $0["name"] as? String == "virus_scan" })
        let arguments = try #require((command["properties"] as? [String: Any])?["arguments"] as? [String: Any])
        for key in ["--socket", "--tcp"] {
            #expect((arguments[key] as? [String: Any])?["repeat_key"] as? Bool == true, "\(key)")
        }
        #expect(arguments["--min-up"] != nil)
    }

    /// icinga2 runs the pool check: both daemons answer (OK), then one is stopped (WARNING with --min-up 1).
    @Test func daemonRunsThePoolCheck() throws {
        let now = Int64(Date().timeIntervalSince1970)
        let (a, _) = try ClamdPoolModeTests.daemon(version: 27400, built: now - 3600)
        let (b, _) = try ClamdPoolModeTests.daemon(version: 27400, built: now - 3600, tcp: true)
        let tcp = "127.0.0.1:\(b.tcpPort!)"
        let icinga = try Icinga()
        let perf = icinga.base + "/perfdata"
        try FileManager.default.createDirectory(atPath: perf, withIntermediateDirectories: true)
        let main = icinga.base + "/main.conf"
        try """
            \(Icinga.checkerPreamble(perfdata: perf))
            object Service "pool" {
              host_name = "e2e"
              check_command = "virus_scan"
              check_interval = 1s
              retry_interval = 1s
              max_check_attempts = 1
              vars.virus_scan_mode = "clamd"
              vars.virus_scan_root = "\(icinga.base)"
              vars.virus_scan_socket = [ "\(a.socketPath)" ]
              vars.virus_scan_tcp = [ "\(tcp)" ]
              vars.virus_scan_min_up = 1
              vars.virus_scan_clamd_config = "none"
            }

            """.write(toFile: main, atomically: true, encoding: .utf8)
        let daemon = try icinga.start(["daemon", "-c", main, "-x", "warning"])
        defer { daemon.stop() }
        let ok = try icinga.waitFor(perf, after: Date().timeIntervalSince1970, states: ["pool": "OK"], daemon: daemon)
        #expect(ok["pool"]?.output.hasPrefix("VIRUS_SCAN OK - 2 of 2 clamd answer PONG, daily 27400") == true, "\(ok)")
        #expect(ok["pool"]?.perfdata.hasPrefix("clamd_up=2;;1:;0;2 ") == true, "\(ok)")
        let labels = try ClamdPool([a.endpoint, b.tcpEndpoint!]).labels
        #expect(ok["pool"]?.perfdata.contains("clamd_\(labels[1])_up=1;;;0;1") == true, "\(ok)")

        b.stop()
        let warning = try icinga.waitFor(perf, after: Date().timeIntervalSince1970, states: ["pool": "WARNING"], daemon: daemon)
        #expect(warning["pool"]?.code == 1)
        #expect(warning["pool"]?.output.hasPrefix("VIRUS_SCAN WARNING - 1 of 2 clamd answer (--min-up 1): tcp:\(tcp) is down (") == true, "\(warning)")
        #expect(warning["pool"]?.perfdata.contains("clamd_\(labels[1])_up=0;;;0;1") == true, "\(warning)")
    }
}

/// A throw-away icinga2 environment: every directory it writes is under a temp dir.
struct Icinga {
    static var available: Bool { FileManager.default.isExecutableFile(atPath: "/usr/sbin/icinga2") && getuid() == 0 }
    /// The repository's icinga/ directory (absolute, as icinga2 needs for includes).
    /// The head of a main.conf that runs checks for real: the plugin directory of this build, the
    /// shipped CheckCommand, a checker, a perfdata writer into `perfdata` and the host "e2e".
    static func checkerPreamble(perfdata perf: String) -> String {
        """
        const CustomPluginDir = "\((Plugin.binary as NSString).deletingLastPathComponent)"
        const NodeName = "e2e"
        const ZoneName = NodeName
        include <itl>
        include "\(Icinga.shipped)/virus_scan.conf"
        object CheckerComponent "checker" { }
        object PerfdataWriter "perfdata" {
          service_perfdata_path = "\(perf)/service-perfdata"
          service_temp_path = "\(perf)/service-perfdata.tmp"
          host_perfdata_path = "\(perf)/host-perfdata"
          host_temp_path = "\(perf)/host-perfdata.tmp"
          service_format_template = "SERVICE::$service.name$\\tSTATE::$service.state$\\tCODE::$service.state_id$\\tPERFDATA::$service.perfdata$\\tOUTPUT::$service.output$"
          rotation_interval = 1s
        }
        object Host "e2e" {
          check_command = "dummy"
          enable_active_checks = false
        }
        """
    }

    static let shipped = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("icinga").path

    let base: String

    init() throws {
        base = FileManager.default.temporaryDirectory.appendingPathComponent("icinga-\(UUID().uuidString.prefix(8))").path
        for directory in ["data", "cache", "log", "spool", "run"] {
            try FileManager.default.createDirectory(atPath: base + "/" + directory, withIntermediateDirectories: true)
        }
    }

    /// Constants that keep icinga2 out of /var and let it run as root.
    var defines: [String] {
        [
            "-D", "DataDir=\(base)/data", "-D", "CacheDir=\(base)/cache", "-D", "LogDir=\(base)/log",
            "-D", "SpoolDir=\(base)/spool", "-D", "InitRunDir=\(base)/run", "-D", "RunAsUser=root", "-D", "RunAsGroup=root",
        ]
    }

    struct Output {
        var output: String
        var exitCode: Int32
    }

    func run(_ arguments: [String]) throws -> Output {
        // posix_spawn with output to files (ChildProcess), never Foundation's Process.
        let result = try ChildProcess.run(
            "/usr/sbin/icinga2", arguments + (arguments.first == "console" ? [] : defines), timeout: 120, workingDirectory: base)
        return Output(output: result.stdout + result.stderr, exitCode: result.exitCode ?? 128 + SIGKILL)
    }

    /// The objects file `daemon -C` wrote (netstrings of JSON objects).
    func objects() throws -> [[String: Any]] {
        let data = try Data(contentsOf: URL(fileURLWithPath: base + "/cache/icinga2.debug"))
        var objects: [[String: Any]] = []
        var index = data.startIndex
        while index < data.endIndex {
            guard let colon = data[index...].firstIndex(of: UInt8(ascii: ":")),
                let length = Int(String(decoding: data[index..<colon], as: UTF8.self))
            else { break }
            let body = data[(colon + 1)..<(colon + 1 + length)]
            if let object = try JSONSerialization.jsonObject(with: body) as? [String: Any] { objects.append(object) }
            index = colon + 1 + length + 1
        }
        return objects
    }

    final class Daemon {
        let process: ChildProcess
        init(process: ChildProcess) { self.process = process }
        /// What the daemon printed so far.
        var log: String { process.stdout + process.stderr }
        func stop() { process.stop(grace: 10) }
    }

    func start(_ arguments: [String]) throws -> Daemon {
        Daemon(process: try ChildProcess("/usr/sbin/icinga2", arguments + defines, workingDirectory: base))
    }

    struct Record: CustomStringConvertible {
        var state: String
        var code: Int
        var perfdata: String
        var output: String
        var description: String { "\(state) \(output.prefix(200)) | \(perfdata)" }
    }

    /// Waits (up to `limit` seconds) until the latest result of each service written after `after`
    /// has the wanted state; returns those results.
    func waitFor(_ directory: String, after: Double, states: [String: String], daemon: Daemon, limit: Double = 60) throws -> [String: Record] {
        let deadline = Date().addingTimeInterval(limit)
        var latest: [String: Record] = [:]
        while Date() < deadline {
            guard daemon.process.isRunning else {
                Issue.record("icinga2 exited: \(daemon.log)")
                return latest
            }
            latest = [:]
            let files = try FileManager.default.contentsOfDirectory(atPath: directory)
                .filter { $0.hasPrefix("service-perfdata.") && !$0.hasSuffix(".tmp") }
                .compactMap { name -> (Double, String)? in
                    guard let stamp = Double(name.split(separator: ".").last ?? "") else { return nil }
                    return (stamp, name)
                }
                .filter { $0.0 >= after.rounded(.down) + 1 }
                .sorted { $0.0 < $1.0 }
            for (_, name) in files {
                let text = (try? String(contentsOfFile: directory + "/" + name, encoding: .utf8)) ?? ""
                for record in text.components(separatedBy: "SERVICE::").dropFirst() {
                    let fields = record.components(separatedBy: "\t")
                    guard fields.count >= 5 else { continue }
                    func value(_ key: String) -> String {
                        let field = fields.first { $0.hasPrefix(key + "::") } ?? ""
                        return String(field.dropFirst(key.count + 2))
                    }
                    latest[fields[0]] = Record(
                        state: value("STATE"), code: Int(value("CODE")) ?? -1, perfdata: value("PERFDATA"),
                        output: fields[4...].joined(separator: "\t").replacingOccurrences(of: "OUTPUT::", with: ""))
                }
            }
            if states.allSatisfy({ latest[$0.key]?.state == $0.value }) { return latest }
            Thread.sleep(forTimeInterval: 0.5)
        }
        Issue.record("timed out waiting for \(states); latest: \(latest)")
        return latest
    }
}
