import Foundation
import ScanCore
import ScanCoreTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// clamd, probe, signatures and all over a pool of two real clamd daemons (ClamdProcess), one
/// reached over its unix socket and one over TCP, with daily databases built here.
@Suite("clamd pool modes", .serialized, .enabled(if: FileManager.default.isExecutableFile(atPath: ClamdProcess.executable)))
struct ClamdPoolModeTests {
    let now = Int64(Date().timeIntervalSince1970)

    /// A daemon loading a daily.cud at `version` (also listening on TCP when `tcp`), and its database directory.
    static func daemon(version: Int, built: Int64, tcp: Bool = false) throws -> (ClamdProcess, String) {
        let database = FileManager.default.temporaryDirectory.appendingPathComponent("cvs-pool-db-\(UUID().uuidString.prefix(8))").path
        try ClamdModeTests.writeDaily(database, version: version, built: built)
        return (try ClamdProcess(ClamdProcess.Configuration(databaseDirectory: database, tcp: tcp)), database)
    }

    /// The status text before the perfdata.
    static func summary(_ run: Plugin.Run) -> String {
        String(run.statusLine.split(separator: " | ", maxSplits: 1).first ?? "")
    }

    @Test func skewAcrossThePoolIsAWarningNamingTheDaemonBehind() throws {
        let (a, database) = try Self.daemon(version: 27400, built: now - 3600)
        let (b, _) = try Self.daemon(version: 27401, built: now - 600, tcp: true)
        let socket = a.socketPath
        let tcp = "127.0.0.1:\(b.tcpPort!)"
        // --tcp before --socket: the pool lists sockets first either way.
        let run = try Plugin.run(["clamd", "--tcp", tcp, "--socket", socket, "--clamd-config", "none"])
        #expect(run.exitCode == 1, "\(run)")
        #expect(Self.summary(run) == "VIRUS_SCAN WARNING - database version skew across the clamd pool: unix:\(socket) has daily 27400 loaded, behind daily 27401 on tcp:\(tcp); 2 of 2 clamd answer PONG", "\(run)")
        #expect(run.perf("clamd_up") == PerfItem(label: "clamd_up", value: 2, unit: "", warning: "", critical: "2:", min: "0", max: "2"), "\(run)")
        let labels = try ClamdPool([a.endpoint, b.tcpEndpoint!]).labels
        #expect(run.perf("clamd_\(labels[0])_daily")?.value == 27400, "\(run)")
        #expect(run.perf("clamd_\(labels[1])_daily")?.value == 27401, "\(run)")

        // signatures: the disk has 27400; the TCP daemon is ahead of it (not CRITICAL), the pool is skewed.
        let signatures = try Plugin.run(["signatures", "--database-dir", database, "--socket", socket, "--tcp", tcp, "-w", "1d", "--now", String(now)])
        #expect(signatures.exitCode == 1, "\(signatures)")
        #expect(Self.summary(signatures) == "VIRUS_SCAN WARNING - database version skew across the clamd pool: unix:\(socket) has daily 27400 loaded, behind daily 27401 on tcp:\(tcp); daily 27400 is 1h old; 2 of 2 clamd answer VERSION", "\(signatures)")
        #expect(signatures.lines.contains("[OK] unix:\(socket): daily 27400 loaded"), "\(signatures)")
        #expect(signatures.lines.contains("[OK] tcp:\(tcp): daily 27401 loaded"), "\(signatures)")

        // The database on disk moves to 27402: both daemons are behind it (CRITICAL each, per endpoint).
        try ClamdModeTests.writeDaily(database, version: 27402, built: now - 60)
        let behind = try Plugin.run(["signatures", "--database-dir", database, "--socket", socket, "--tcp", tcp, "-w", "1d", "--now", String(now)])
        #expect(behind.exitCode == 2, "\(behind)")
        #expect(Self.summary(behind) == "VIRUS_SCAN CRITICAL - unix:\(socket): clamd has daily 27400 loaded but 27402 is on disk: reload clamd; tcp:\(tcp): clamd has daily 27401 loaded but 27402 is on disk: reload clamd; database version skew across the clamd pool: unix:\(socket) has daily 27400 loaded, behind daily 27401 on tcp:\(tcp); daily 27402 is 1m old; 2 of 2 clamd answer VERSION", "\(behind)")
    }

    @Test func samePoolVersionIsOKWithALinePerDaemonAndPerEndpointPerfdata() throws {
        let (a, database) = try Self.daemon(version: 27400, built: now - 3600)
        let (b, _) = try Self.daemon(version: 27400, built: now - 3600, tcp: true)
        let socket = a.socketPath
        let tcp = "127.0.0.1:\(b.tcpPort!)"
        let labels = try ClamdPool([a.endpoint, b.tcpEndpoint!]).labels
        let run = try Plugin.run(["clamd", "--socket", socket, "--tcp", tcp, "--clamd-config", "none", "-w", "5", "-c", "10"])
        #expect(run.exitCode == 0, "\(run)")
        #expect(Self.summary(run) == "VIRUS_SCAN OK - 2 of 2 clamd answer PONG, daily 27400", "\(run)")
        var expected = ["clamd_up"]
        for label in labels {
            expected += ["clamd_\(label)_up", "clamd_\(label)_daily", "clamd_\(label)_time", "clamd_\(label)_queue", "clamd_\(label)_threads_live",
                         "clamd_\(label)_threads_idle", "clamd_\(label)_threads_max", "clamd_\(label)_memory_pools", "clamd_\(label)_longest_scan", "clamd_\(label)_active_tasks"]
        }
        #expect(run.perfdata.map(\.label) == expected, "\(run)")
        #expect(run.perf("clamd_up") == PerfItem(label: "clamd_up", value: 2, unit: "", warning: "", critical: "2:", min: "0", max: "2"))
        for label in labels {
            #expect(run.perf("clamd_\(label)_up") == PerfItem(label: "clamd_\(label)_up", value: 1, unit: "", warning: "", critical: "", min: "0", max: "1"))
            #expect(run.perf("clamd_\(label)_daily") == PerfItem(label: "clamd_\(label)_daily", value: 27400, unit: "", warning: "", critical: "", min: "0", max: ""))
            #expect(run.perf("clamd_\(label)_queue") == PerfItem(label: "clamd_\(label)_queue", value: 0, unit: "", warning: "5", critical: "10", min: "0", max: ""))
            #expect(run.perf("clamd_\(label)_threads_max")?.value == 2)
            #expect(run.perf("clamd_\(label)_time")?.unit == "s")
        }
        // One line per daemon, its own details indented below it.
        let daemonLines = run.lines.filter { $0.hasPrefix("[") }
        #expect(daemonLines.count == 2, "\(run)")
        #expect(run.line(1).hasPrefix("[OK] unix:\(socket): clamd PONG in "), "\(run)")
        #expect(run.line(1).hasSuffix("/27400, queue 0"), "\(run)")
        #expect(run.line(2).hasPrefix("  [OK] clamd unix:\(socket): state VALID PRIMARY, threads live "), "\(run)")
        #expect(daemonLines[1].hasPrefix("[OK] tcp:\(tcp): clamd PONG in "), "\(run)")
        #expect(run.lines.contains { $0.hasPrefix("  [OK] clamd tcp:\(tcp): state VALID PRIMARY, threads live ") }, "\(run)")

        let probe = try Plugin.run(["probe", "--socket", socket, "--tcp", tcp])
        #expect(probe.exitCode == 0, "\(probe)")
        #expect(Self.summary(probe) == "VIRUS_SCAN OK - 2 of 2 clamd found the EICAR test string", "\(probe)")
        #expect(probe.perfdata.map(\.label) == ["clamd_up", "clamd_\(labels[0])_up", "probe_\(labels[0])_time", "clamd_\(labels[1])_up", "probe_\(labels[1])_time"], "\(probe)")
        #expect(probe.line(1).hasPrefix("[OK] unix:\(socket): clamd found the EICAR test string (Eicar-Test-Signature"), "\(probe)")

        let signatures = try Plugin.run(["signatures", "--database-dir", database, "--socket", socket, "--tcp", tcp, "-w", "1d", "--now", String(now)])
        #expect(signatures.exitCode == 0, "\(signatures)")
        #expect(Self.summary(signatures) == "VIRUS_SCAN OK - daily 27400 is 1h old; 2 of 2 clamd answer VERSION", "\(signatures)")

        // all: the three clamd parts over the pool, the queue parts over an empty tree.
        let tree = try PipelineTree()
        let all = try Plugin.run(tree.args("all", ["--database-dir", database, "--socket", socket, "--tcp", tcp, "--clamd-config", "none",
                                                   "--signatures-warning", "1d", "--skip", "wait", "--skip", "stuck", "--skip", "infected"]))
        #expect(all.exitCode == 0, "\(all)")
        #expect(Self.summary(all) == "VIRUS_SCAN OK - 5 of 5 OK (backlog, age, clamd, signatures, probe)", "\(all)")
        #expect(all.lines.contains("[OK] clamd: 2 of 2 clamd answer PONG, daily 27400"), "\(all)")
        #expect(all.lines.contains("[OK] probe: 2 of 2 clamd found the EICAR test string"), "\(all)")
    }

    @Test func aStoppedDaemonIsWarningAboveMinUpAndCriticalBelow() throws {
        let (a, database) = try Self.daemon(version: 27400, built: now - 3600)
        let (b, _) = try Self.daemon(version: 27400, built: now - 3600, tcp: true)
        let socket = a.socketPath
        let tcp = "127.0.0.1:\(b.tcpPort!)"
        let labels = try ClamdPool([a.endpoint, b.tcpEndpoint!]).labels
        b.stop()
        var why = ""
        do { _ = try ClamdClient(endpoint: b.tcpEndpoint!).ping() } catch { why = error.message }
        #expect(why == "connection to clamd at tcp:\(tcp) refused: is clamd running with TCPSocket/TCPAddr set to this address?")

        let tolerated = try Plugin.run(["clamd", "--socket", socket, "--tcp", tcp, "--clamd-config", "none", "--min-up", "1"])
        #expect(tolerated.exitCode == 1, "\(tolerated)")
        #expect(Self.summary(tolerated) == "VIRUS_SCAN WARNING - 1 of 2 clamd answer (--min-up 1): tcp:\(tcp) is down (connection refused)", "\(tolerated)")
        #expect(tolerated.perf("clamd_up") == PerfItem(label: "clamd_up", value: 1, unit: "", warning: "", critical: "1:", min: "0", max: "2"))
        #expect(tolerated.perf("clamd_\(labels[1])_up")?.value == 0)
        #expect(tolerated.perf("clamd_\(labels[0])_up")?.value == 1)
        #expect(tolerated.lines.contains("[WARNING] tcp:\(tcp): down: \(why)"), "\(tolerated)")

        for extra in [["--min-up", "2"], []] {
            let run = try Plugin.run(["clamd", "--socket", socket, "--tcp", tcp, "--clamd-config", "none"] + extra)
            #expect(run.exitCode == 2, "\(run)")
            #expect(Self.summary(run) == "VIRUS_SCAN CRITICAL - 1 of 2 clamd answer, fewer than --min-up 2: tcp:\(tcp) is down (connection refused)", "\(run)")
            #expect(run.perf("clamd_up") == PerfItem(label: "clamd_up", value: 1, unit: "", warning: "", critical: "2:", min: "0", max: "2"))
            #expect(run.lines.contains("[CRITICAL] tcp:\(tcp): down: \(why)"), "\(run)")
        }

        let probe = try Plugin.run(["probe", "--socket", socket, "--tcp", tcp, "--min-up", "1"])
        #expect(probe.exitCode == 1, "\(probe)")
        #expect(Self.summary(probe) == "VIRUS_SCAN WARNING - 1 of 2 clamd answer (--min-up 1): tcp:\(tcp) is down (connection refused)", "\(probe)")
        let signatures = try Plugin.run(["signatures", "--database-dir", database, "--socket", socket, "--tcp", tcp, "-w", "1d", "--now", String(now)])
        #expect(signatures.exitCode == 2, "\(signatures)")
        #expect(Self.summary(signatures) == "VIRUS_SCAN CRITICAL - 1 of 2 clamd answer, fewer than --min-up 2: tcp:\(tcp) is down (connection refused); daily 27400 is 1h old", "\(signatures)")

        let tooMany = try Plugin.run(["clamd", "--socket", socket, "--tcp", tcp, "--clamd-config", "none", "--min-up", "3"])
        #expect(tooMany.exitCode == 3, "\(tooMany)")
        #expect(tooMany.stdout == "VIRUS_SCAN UNKNOWN - --min-up: must be 1 to 2 (the number of clamd endpoints), got 3\n", "\(tooMany)")
    }

    @Test func theLayoutFilesListIsThePoolAndTheCommandLineReplacesIt() throws {
        let (a, _) = try Self.daemon(version: 27400, built: now - 3600)
        let (b, _) = try Self.daemon(version: 27401, built: now - 600, tcp: true)
        let tree = try TemporaryTree()
        let config = tree.root + "/virus-scan.yml"
        try FileOutput.write("root: \(tree.root)\nclamd:\n  endpoints: [\"unix:\(a.socketPath)\", \"tcp:127.0.0.1:\(b.tcpPort!)\"]\n", to: config)
        let pooled = try Plugin.run(["clamd", "--config", config, "--clamd-config", "none"])
        #expect(pooled.exitCode == 1, "\(pooled)")
        #expect(Self.summary(pooled).hasPrefix("VIRUS_SCAN WARNING - database version skew across the clamd pool: unix:\(a.socketPath) has daily 27400 loaded"), "\(pooled)")
        let one = try Plugin.run(["clamd", "--config", config, "--socket", a.socketPath, "--clamd-config", "none"])
        #expect(one.exitCode == 0, "\(one)")
        #expect(one.statusLine.hasPrefix("VIRUS_SCAN OK - clamd PONG in "), "\(one)")
        #expect(one.perf("clamd_queue") != nil, "\(one)")

        try FileOutput.write("root: \(tree.root)\nclamd:\n  endpoints: [\"tcp:127.0.0.1\"]\n", to: config)
        let bad = try Plugin.run(["clamd", "--config", config, "--clamd-config", "none"])
        #expect(bad.exitCode == 3, "\(bad)")
        #expect(bad.stdout == "VIRUS_SCAN UNKNOWN - \(config): clamd.endpoints[0]: clamd endpoint \"tcp:127.0.0.1\": expected a socket path, HOST:PORT or [IPV6]:PORT\n", "\(bad)")
    }

    /// Two sockets that accept and never answer: the daemons are asked at once, so the check ends
    /// after one --clamd-timeout, not two, CRITICAL naming both.
    @Test func silentDaemonsAreAskedAtOnce() throws {
        var listeners: [(Int32, String)] = []
        defer { for (fd, path) in listeners { close(fd); unlink(path) } }
        for _ in 0..<2 {
            let path = "/tmp/cvs-pool-silent-\(UUID().uuidString.prefix(6)).sock"
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
            listeners.append((fd, path))
        }
        let run = try Plugin.run(["clamd", "--socket", listeners[0].1, "--socket", listeners[1].1, "--clamd-config", "none", "--clamd-timeout", "2", "-t", "10"], limit: 15)
        #expect(run.exitCode == 2, "\(run)")
        #expect(Self.summary(run) == "VIRUS_SCAN CRITICAL - 0 of 2 clamd answer, fewer than --min-up 2: unix:\(listeners[0].1) is down (timed out); unix:\(listeners[1].1) is down (timed out)", "\(run)")
        for (_, path) in listeners {
            #expect(run.lines.contains("[CRITICAL] unix:\(path): down: clamd at unix:\(path) accepted the connection but did not answer PING within 2 s: it may be hung or overloaded (check clamd's log, clamdtop)"), "\(run)")
        }
        #expect(run.seconds < 3.5, "took \(run.seconds) s: the daemons were not asked at once")
    }

    @Test func singleDaemonCommandsRefuseSeveral() throws {
        let run = try Plugin.run(["restart-clamd", "--socket", "/tmp/cvs-a.sock", "--tcp", "127.0.0.1:3310"])
        #expect(run.exitCode == 64, "\(run)")
        #expect(run.stderr.contains("this command talks to one clamd, but 2 are given (--socket /tmp/cvs-a.sock, --tcp 127.0.0.1:3310): give one --socket or one --tcp"), "\(run)")
        // rescan-clean reads the check's options, but scans through one daemon: several are refused before any scan.
        let tree = try PipelineTree()
        let rescan = try Plugin.run(["rescan-clean", "--root", tree.root, "--state-dir", tree.root + "/state", "--lock", tree.root + "/rescan.lock",
                                     "--no-syslog", "--engine", "clamd", "--socket", "/tmp/cvs-a.sock", "--tcp", "127.0.0.1:3310"])
        #expect(rescan.exitCode == 64, "\(rescan)")
        #expect(rescan.stderr.contains("rescan-clean: rescan-clean talks to one clamd, but 2 are given (unix:/tmp/cvs-a.sock, tcp:127.0.0.1:3310): give one --socket or --tcp"), "\(rescan)")
    }
}
