import Foundation
import ScanCore
import ScanCoreTestSupport
import Testing

/// What the plugin cannot know, it does not call OK; what is broken, it does not call OK either:
/// clamd commands the operator disabled, a database with no signatures, a stale upstream record,
/// clamd's AlertExceedsMax.
@Suite("truthful clamd and signature signals", .serialized)
struct TruthfulSignalsTests {
    let now = Int64(Date().timeIntervalSince1970)

    // MARK: clamd refusing commands (ClamAV 1.5; the installed 1.4 cannot, so a fake answers)

    @Test func clamdWithStatsAndVersionDisabledIsUpAndSaysSo() throws {
        let fake = try FakeClamd(.disabling(["STATS", "VERSION"]))
        let run = try Plugin.run(["clamd", "--socket", fake.socketPath, "--clamd-config", "none", "-w", "5", "-c", "10"])
        #expect(run.exitCode == 0, "\(run)")
        #expect(run.statusLine.hasPrefix("VIRUS_SCAN OK - clamd PONG in "), "\(run)")
        #expect(run.statusLine.contains("ms, VERSION disabled, STATS disabled | 'clamd_time'="), "\(run)")
        #expect(run.lines.contains("STATS is disabled in clamd (EnableStatsCommand no): queue, threads and memory are not known; -w/-c not tested"), "\(run)")
        #expect(run.perf("clamd_queue") == nil)
    }

    // MARK: AlertExceedsMax

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: ClamdProcess.executable)))
    func alertExceedsMaxNoWarns() throws {
        let (daemon, _) = try ClamdModeTests.clamd(built: now - 3600)
        let conf = daemon.configurationPath
        try FileOutput.write((try String(contentsOfFile: conf, encoding: .utf8)) + "MaxFileSize 5M\n", to: conf)
        let run = try Plugin.run(["clamd", "--socket", daemon.socketPath, "--clamd-config", conf])
        #expect(run.exitCode == 1, "\(run)")
        #expect(run.statusLine.hasPrefix("VIRUS_SCAN WARNING - \(conf) has AlertExceedsMax no: clamd answers OK for files over MaxFileSize 5M / MaxScanSize 400M without scanning them (set AlertExceedsMax yes); clamd PONG in "), "\(run)")
        #expect(run.lines.contains("\(conf): MaxFileSize 5M, MaxScanSize 400M, StreamMaxLength 100M, AlertExceedsMax no"), "\(run)")

        let alerting = try TemporaryTree(prefix: "cae")
        let yes = try alerting.file("clamd.conf", contents: Array("MaxFileSize 5M\nAlertExceedsMax yes\n".utf8))
        let ok = try Plugin.run(["clamd", "--socket", daemon.socketPath, "--clamd-config", yes])
        #expect(ok.exitCode == 0, "\(ok)")
        #expect(ok.lines.contains("\(yes): MaxFileSize 5M, MaxScanSize 400M, StreamMaxLength 100M, AlertExceedsMax yes"), "\(ok)")

        let missing = try Plugin.run(["clamd", "--socket", daemon.socketPath, "--clamd-config", alerting.root + "/nope.conf"])
        #expect(missing.exitCode == 3, "\(missing)")
        #expect(missing.statusLine.hasPrefix("VIRUS_SCAN UNKNOWN - cannot read clamd's configuration \(alerting.root)/nope.conf: No such file or directory"), "\(missing)")
        let bad = try alerting.file("bad.conf", contents: Array("MaxFileSize lots\n".utf8))
        let unparsable = try Plugin.run(["clamd", "--socket", daemon.socketPath, "--clamd-config", bad])
        #expect(unparsable.exitCode == 3, "\(unparsable)")
        #expect(unparsable.statusLine.hasPrefix("VIRUS_SCAN UNKNOWN - clamd's configuration \(bad): line 1: MaxFileSize 'lots' is not a size (bytes, or a number with K or M)"), "\(unparsable)")
    }

    // MARK: a database with no signatures

    /// A daily.cud whose files hold no signatures (only an ignore list): what a broken update leaves.
    static func emptyDatabase(in tree: TemporaryTree, version: Int = 27400, built: Int64) throws -> String {
        try tree.file("src/daily.ign2", contents: Array("Some.Signature\n".utf8))
        try FileOutput.makeDirectory(tree.root + "/db")
        try DatabaseContainer.write(from: tree.root + "/src", to: tree.root + "/db/daily.cud", version: version, buildTimestamp: built)
        return tree.root + "/db"
    }

    @Test func noSignaturesIsCritical() throws {
        let scratch = try TemporaryTree(prefix: "cdb")
        let database = try Self.emptyDatabase(in: scratch, built: now - 3600)
        let run = try Plugin.run(["signatures", "--database-dir", database, "--no-clamd", "-w", "1d", "-c", "2d"])
        #expect(run.exitCode == 2, "\(run)")
        #expect(run.statusLine.hasPrefix("VIRUS_SCAN CRITICAL - the databases in \(database) hold 0 signatures (fewer than 1): clamd detects nothing; check freshclam; daily 27400 is 1h old | "), "\(run)")
        #expect(run.perf("signatures")?.value == 0)
        // The operator may ask for more; 0 turns the test off.
        let small = try Plugin.run(["signatures", "--database-dir", try Self.smallDatabase(in: scratch, built: now - 3600), "--no-clamd", "--min-signatures", "1000000"])
        #expect(small.exitCode == 2, "\(small)")
        #expect(small.statusLine.contains("signatures (fewer than 1000000)"), "\(small)")
        #expect(try Plugin.run(["signatures", "--database-dir", database, "--no-clamd", "--min-signatures", "0"]).exitCode == 0)
        #expect(try Plugin.run(["signatures", "--database-dir", database, "--no-clamd", "--min-signatures", "-1"]).exitCode == 3)

        let tree = try PipelineTree()
        let all = try Plugin.run(tree.args("all", [
            "--skip", "clamd", "--skip", "probe", "--database-dir", database, "--socket", tree.root + "/no-clamd.sock",
            "--clamd-config", "none",
        ]))
        #expect(all.exitCode == 2, "\(all)")
        #expect(all.statusLine.hasPrefix("VIRUS_SCAN CRITICAL - signatures: the databases in \(database) hold 0 signatures (fewer than 1)"), "\(all)")
    }

    static func smallDatabase(in tree: TemporaryTree, built: Int64) throws -> String {
        try ClamdModeTests.writeDaily(tree.root + "/small-db", version: 27400, built: built)
        return tree.root + "/small-db"
    }

    // MARK: upstream freshness

    @Test(.enabled(if: Dnsmasq.available)) func staleOrTimelessUpstreamRecordIsUnknown() throws {
        let scratch = try TemporaryTree(prefix: "cds")
        let database = try Self.smallDatabase(in: scratch, built: now - 3600)
        let stale = try Dnsmasq(txt: [ClamAVPublishedVersions.recordName: "1.4.1:62:27400:\(now - 13 * 3600):1:90:49192:334"])
        defer { stale.stop() }
        let run = try Plugin.run(["signatures", "--database-dir", database, "--no-clamd", "--upstream", "--dns-server", stale.address])
        #expect(run.exitCode == 3, "\(run)")
        #expect(run.statusLine.hasPrefix("VIRUS_SCAN UNKNOWN - upstream record current.cvd.clamav.net is 13h old (more than 12h): cannot tell whether daily 27400 is current; daily 27400 is 1h old"), "\(run)")
        #expect(run.perf("daily_behind") == nil)
        stale.stop()

        let timeless = try Dnsmasq(txt: [ClamAVPublishedVersions.recordName: "1.4.1:62:27400"])
        defer { timeless.stop() }
        let none = try Plugin.run(["signatures", "--database-dir", database, "--no-clamd", "--upstream", "--dns-server", timeless.address])
        #expect(none.exitCode == 3, "\(none)")
        #expect(none.statusLine.hasPrefix("VIRUS_SCAN UNKNOWN - upstream record current.cvd.clamav.net carries no time: cannot tell whether daily 27400 is current"), "\(none)")
        timeless.stop()

        let fresh = try Dnsmasq(txt: [ClamAVPublishedVersions.recordName: "1.4.1:62:27400:\(now - 11 * 3600):1:90:49192:334"])
        defer { fresh.stop() }
        let current = try Plugin.run(["signatures", "--database-dir", database, "--no-clamd", "--upstream", "--dns-server", fresh.address])
        #expect(current.exitCode == 0, "\(current)")
        #expect(current.lines.contains("ClamAV publishes daily 27400 (engine 1.4.1); 0 behind"), "\(current)")
    }
}
