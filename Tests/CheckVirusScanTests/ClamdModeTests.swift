import Foundation
import ScanCore
import ScanCoreTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// clamd, probe and signatures against a real clamd (ClamdProcess) loading a daily.cld built here,
/// and a real dnsmasq for --upstream.
@Suite("clamd modes", .serialized, .enabled(if: FileManager.default.isExecutableFile(atPath: ClamdProcess.executable)))
struct ClamdModeTests {
    /// A database directory with `daily.cud` (unsigned, which clamd accepts) (the small test database) at `version`, built `age` s before `now`.
    static func writeDaily(_ directory: String, version: Int, built: Int64, detectsEICAR: Bool = true) throws {
        let source = directory + ".src"
        try FileOutput.makeDirectory(source)
        if detectsEICAR {
            try SignatureFixtures.writeSmall(to: source)
        } else {
            try FileOutput.write("0123456789abcdef0123456789abcdef:4:Harmless-Test\n", to: source + "/none.hdb")
        }
        try FileOutput.makeDirectory(directory)
        try DatabaseContainer.write(from: source, to: directory + "/daily.cud", version: version, buildTimestamp: built)
        try? FileManager.default.removeItem(atPath: source)
    }

    static func clamd(version: Int = 27400, built: Int64, detectsEICAR: Bool = true) throws -> (ClamdProcess, String) {
        let database = FileManager.default.temporaryDirectory.appendingPathComponent("cvs-db-\(UUID().uuidString.prefix(8))").path
        try writeDaily(database, version: version, built: built, detectsEICAR: detectsEICAR)
        let process = try ClamdProcess(ClamdProcess.Configuration(databaseDirectory: database))
        return (process, database)
    }

    let now = Int64(Date().timeIntervalSince1970)

    @Test func clamdAnswers() throws {
        let (daemon, _) = try Self.clamd(built: now - 3600)
        let run = try Plugin.run(["clamd", "--socket", daemon.socketPath, "--clamd-config", "none", "-w", "5", "-c", "10"])
        #expect(run.exitCode == 0, "\(run)")
        #expect(run.statusLine.hasPrefix("VIRUS_SCAN OK - clamd PONG in "), "\(run)")
        #expect(run.statusLine.contains("ms, ClamAV "), "\(run)")
        #expect(run.statusLine.contains("/27400, queue 0 | "), "\(run)")
        #expect(run.perf("clamd_queue") == PerfItem(label: "clamd_queue", value: 0, unit: "", warning: "5", critical: "10", min: "0", max: ""))
        #expect(run.perf("clamd_threads_max")?.value == 2)
        #expect(run.perf("clamd_time")?.unit == "s")
        #expect(run.line(1).hasPrefix("[OK] clamd unix:\(daemon.socketPath): state "), "\(run)")
        // @0:0 alerts at exactly zero: the queue range is really applied.
        let inside = try Plugin.run(["clamd", "--socket", daemon.socketPath, "--clamd-config", "none", "-c", "@0:0"])
        #expect(inside.exitCode == 2)
    }

    @Test func missingSocketIsCritical() throws {
        let run = try Plugin.run(["clamd", "--socket", "/tmp/cvs-no-such-clamd.sock", "--clamd-config", "none"])
        #expect(run.exitCode == 2, "\(run)")
        #expect(run.statusLine == "VIRUS_SCAN CRITICAL - clamd socket /tmp/cvs-no-such-clamd.sock does not exist: is clamd running, and is LocalSocket in clamd.conf this path?", "\(run)")
        let probe = try Plugin.run(["probe", "--socket", "/tmp/cvs-no-such-clamd.sock"])
        #expect(probe.exitCode == 2, "\(probe)")
        let bad = try Plugin.run(["clamd", "--tcp", "localhost", "--clamd-config", "none"])
        #expect(bad.exitCode == 3, "\(bad)")
        #expect(bad.stdout.hasPrefix("VIRUS_SCAN UNKNOWN - clamd endpoint"), "\(bad)")
    }

    /// A socket that accepts and never answers: clamd's own shorter timeout gives CRITICAL; a
    /// watchdog shorter than it gives UNKNOWN naming the phase.
    @Test func silentClamd() throws {
        let path = "/tmp/cvs-silent-\(UUID().uuidString.prefix(6)).sock"
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.enumerated() { raw[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        #expect(bound == 0)
        #expect(listen(fd, 16) == 0)
        defer {
            close(fd)
            unlink(path)
        }
        let critical = try Plugin.run(["clamd", "--socket", path, "--clamd-config", "none", "--clamd-timeout", "1", "-t", "10"], limit: 15)
        #expect(critical.exitCode == 2, "\(critical)")
        #expect(critical.statusLine.hasPrefix("VIRUS_SCAN CRITICAL - clamd at unix:\(path) accepted the connection but did not answer PING within 1 s"), "\(critical)")
        #expect(critical.seconds < 5, "took \(critical.seconds)")
        let unknown = try Plugin.run(["clamd", "--socket", path, "--clamd-config", "none", "--clamd-timeout", "30", "-t", "1"], limit: 15)
        #expect(unknown.exitCode == 3, "\(unknown)")
        #expect(unknown.stdout == "VIRUS_SCAN UNKNOWN - plugin timed out after 1s while waiting for clamd unix:\(path) to answer PING\n", "\(unknown)")
        #expect(unknown.seconds < 4, "took \(unknown.seconds)")
    }

    @Test func probeFindsEICAR() throws {
        let (daemon, _) = try Self.clamd(built: now - 3600)
        let run = try Plugin.run(["probe", "--socket", daemon.socketPath])
        #expect(run.exitCode == 0, "\(run)")
        #expect(run.statusLine.hasPrefix("VIRUS_SCAN OK - clamd found the EICAR test string (Eicar-Test-Signature"), "\(run)")
        #expect(run.perf("probe_time")?.unit == "s")
    }

    /// A daemon that answers PING but whose database does not detect anything: only the probe notices.
    @Test func probeCatchesAUselessDatabase() throws {
        let (daemon, _) = try Self.clamd(built: now - 3600, detectsEICAR: false)
        #expect(try Plugin.run(["clamd", "--socket", daemon.socketPath, "--clamd-config", "none"]).exitCode == 0)
        let run = try Plugin.run(["probe", "--socket", daemon.socketPath])
        #expect(run.exitCode == 2, "\(run)")
        #expect(run.statusLine.hasPrefix("VIRUS_SCAN CRITICAL - clamd did not detect the EICAR test string: its signature database is empty or broken | 'probe_time'="), "\(run)")
    }

    @Test(arguments: [("1d", "2d", Int32(0)), ("1h", "2d", 1), ("30m", "1h", 2), ("3h", "4h", 0)])
    func signatureAge(_ warning: String, _ critical: String, _ expected: Int32) throws {
        let (daemon, database) = try Self.clamd(built: now - 10800)
        let run = try Plugin.run(["signatures", "--database-dir", database, "--socket", daemon.socketPath, "-w", warning, "-c", critical, "--now", String(now)])
        #expect(run.exitCode == expected, "\(run)")
        #expect(run.perf("db_age")?.value == 10800, "\(run)")
        #expect(run.perf("daily_version")?.value == 27400)
        #expect(run.statusLine.hasPrefix("VIRUS_SCAN \(["OK", "WARNING", "CRITICAL"][Int(expected)]) - daily 27400 is 3h old"), "\(run)")
        #expect(run.lines.contains("clamd has daily 27400 loaded"), "\(run)")
    }

    @Test func clamdWithAnOlderDatabaseIsCritical() throws {
        let (daemon, database) = try Self.clamd(version: 27400, built: now - 7200)
        try Self.writeDaily(database, version: 27401, built: now - 600)  // on disk, not reloaded
        let run = try Plugin.run(["signatures", "--database-dir", database, "--socket", daemon.socketPath, "-w", "1d"])
        #expect(run.exitCode == 2, "\(run)")
        #expect(run.statusLine.hasPrefix("VIRUS_SCAN CRITICAL - clamd has daily 27400 loaded but 27401 is on disk: reload clamd; daily 27401 is 10m"), "\(run)")
    }

    @Test func missingDatabaseDirectoryIsCritical() throws {
        let run = try Plugin.run(["signatures", "--database-dir", "/tmp/cvs-no-such-db", "--no-clamd"])
        #expect(run.exitCode == 2, "\(run)")
        #expect(run.statusLine.hasPrefix("VIRUS_SCAN CRITICAL - signature database: "), "\(run)")
    }

    @Test(.enabled(if: Dnsmasq.available)) func upstreamComparisonThroughDnsmasq() throws {
        let database = FileManager.default.temporaryDirectory.appendingPathComponent("cvs-db-\(UUID().uuidString.prefix(8))").path
        try Self.writeDaily(database, version: 27400, built: now - 3600)
        let dns = try Dnsmasq(txt: [ClamAVPublishedVersions.recordName: "1.4.1:62:27405:\(now - 600):1:90:49192:334"])
        defer { dns.stop() }
        let behind = try Plugin.run(["signatures", "--database-dir", database, "--no-clamd", "--upstream", "--dns-server", dns.address])
        #expect(behind.exitCode == 1, "\(behind)")
        #expect(behind.statusLine.hasPrefix("VIRUS_SCAN WARNING - daily 27400 is 5 versions behind the published 27405 (more than 2); daily 27400 is 1h"), "\(behind)")
        #expect(behind.perf("daily_behind")?.value == 5)
        let tolerated = try Plugin.run(["signatures", "--database-dir", database, "--no-clamd", "--upstream", "--dns-server", dns.address, "--max-behind", "5"])
        #expect(tolerated.exitCode == 0, "\(tolerated)")
        #expect(tolerated.lines.contains("ClamAV publishes daily 27405 (engine 1.4.1); 5 behind"), "\(tolerated)")
        dns.stop()
        let down = try Plugin.run(["signatures", "--database-dir", database, "--no-clamd", "--upstream", "--dns-server", dns.address])
        #expect(down.exitCode == 3, "\(down)")
        #expect(down.statusLine.hasPrefix("VIRUS_SCAN UNKNOWN - upstream version lookup failed: "), "\(down)")
    }

    /// `all` runs the signatures probe with the signatures mode's options: --upstream, --dns-server
    /// and --max-behind judge the same way in both (all used to hard-code --max-behind 2 and had no
    /// --upstream).
    @Test(.enabled(if: Dnsmasq.available)) func allComparesUpstreamAsSignaturesDoes() throws {
        let database = FileManager.default.temporaryDirectory.appendingPathComponent("cvs-db-\(UUID().uuidString.prefix(8))").path
        try Self.writeDaily(database, version: 27400, built: now - 3600)
        let dns = try Dnsmasq(txt: [ClamAVPublishedVersions.recordName: "1.4.1:62:27405:\(now - 600):1:90:49192:334"])
        defer { dns.stop() }
        let tree = try PipelineTree()
        let skip = ["backlog", "age", "wait", "stuck", "infected", "clamd", "probe"].flatMap { ["--skip", $0] }
        let base = tree.args("all", skip + ["--database-dir", database, "--socket", tree.root + "/no-clamd.ctl", "--upstream", "--dns-server", dns.address])
        let behind = try Plugin.run(base)
        #expect(behind.exitCode == 1, "\(behind)")
        #expect(behind.statusLine.hasPrefix("VIRUS_SCAN WARNING - signatures: daily 27400 is 5 versions behind the published 27405 (more than 2); daily 27400 is 1h old | "), "\(behind)")
        #expect(behind.perf("daily_behind")?.value == 5)
        let tolerated = try Plugin.run(base + ["--max-behind", "5"])
        #expect(tolerated.exitCode == 0, "\(tolerated)")
        #expect(tolerated.statusLine.hasPrefix("VIRUS_SCAN OK - 1 of 1 OK (signatures) | "), "\(tolerated)")
        let alone = try Plugin.run(["signatures", "--database-dir", database, "--socket", tree.root + "/no-clamd.ctl", "--upstream", "--dns-server", dns.address])
        #expect(alone.statusLine.hasPrefix("VIRUS_SCAN WARNING - daily 27400 is 5 versions behind the published 27405 (more than 2); daily 27400 is 1h old | "), "\(alone)")
        let bad = try Plugin.run(base + ["--max-behind=-1"])
        #expect(bad.statusLine == "VIRUS_SCAN UNKNOWN - --max-behind: must be 0 to 1000000, got -1", "\(bad)")
    }
}
