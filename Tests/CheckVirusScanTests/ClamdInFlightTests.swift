import Foundation
import ScanCore
import ScanCoreTestSupport
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The `clamd` mode's scans in flight (STATS task lines): a real clamd scanning a slow INSTREAM, and
/// a fake replaying STATS with a hung 400 s scan for the thresholds.
@Suite("clamd scans in flight", .serialized)
struct ClamdInFlightTests {
    /// A fake clamd answering PING, VERSION and STATS (the STATS given).
    static func fake(stats: String) throws -> FakeClamd {
        try FakeClamd(.byCommand(["PING": "PONG", "VERSION": "ClamAV 1.4.6/27500/Wed Nov 25 10:47:56 2026", "STATS": stats]))
    }

    static let hungStats = "POOLS: 1\n\nSTATE: VALID PRIMARY\nTHREADS: live 3  idle 0 max 4 idle-timeout 30\nQUEUE: 0 items\n\tSTATS 0.000012 \n\tINSTREAM 12.500000 instream(local)\n\tSCAN 400.000000 /srv/uploads/incoming/slow.pdf\n\nMEMSTATS: heap N/A mmap N/A used N/A free N/A releasable N/A pools 1 pools_used 5.882M pools_total 5.964M\nEND"

    @Test func hungScanPastTheRanges() throws {
        let fake = try Self.fake(stats: Self.hungStats)
        let base = ["clamd", "--socket", fake.socketPath, "--clamd-config", "none"]
        let critical = try Plugin.run(base + ["--scan-crit", "300"])
        #expect(critical.exitCode == 2, "\(critical)")
        #expect(critical.statusLine.hasPrefix("VIRUS_SCAN CRITICAL - longest scan SCAN /srv/uploads/incoming/slow.pdf running 6m40s (2 scans in flight) (critical above 5m); clamd PONG in "), "\(critical)")
        #expect(critical.perf("longest_scan") == PerfItem(label: "longest_scan", value: 400, unit: "s", warning: "", critical: "300", min: "0", max: ""))
        #expect(critical.perf("active_tasks") == PerfItem(label: "active_tasks", value: 2, unit: "", warning: "", critical: "", min: "0", max: "4"))
        #expect(critical.stdout.contains("\n  in flight: SCAN /srv/uploads/incoming/slow.pdf for 400s\n  in flight: INSTREAM instream(local) for 12.5s\n"), "\(critical)")

        let warning = try Plugin.run(base + ["--scan-warn", "300", "--scan-crit", "600"])
        #expect(warning.exitCode == 1, "\(warning)")
        #expect(warning.statusLine.hasPrefix("VIRUS_SCAN WARNING - longest scan SCAN /srv/uploads/incoming/slow.pdf running 6m40s (2 scans in flight) (warning above 5m); "), "\(warning)")
        // Suffixed ranges, as for the other second thresholds.
        #expect(try Plugin.run(base + ["--scan-warn", "5m", "--scan-crit", "10m"]).exitCode == 1)
        let ok = try Plugin.run(base + ["--scan-warn", "401", "--scan-crit", "600"])
        #expect(ok.exitCode == 0, "\(ok)")
        #expect(ok.statusLine.contains("; longest scan SCAN /srv/uploads/incoming/slow.pdf running 6m40s (2 scans in flight) | "), "\(ok)")
        let bad = try Plugin.run(base + ["--scan-crit", "soon"])
        #expect(bad.exitCode == 3, "\(bad)")
        #expect(bad.statusLine.hasPrefix("VIRUS_SCAN UNKNOWN - --scan-crit: "), "\(bad)")
    }

    @Test func allPassesItsScanRangesToClamd() throws {
        let fake = try Self.fake(stats: Self.hungStats)
        let tree = try PipelineTree()
        let skip = ["backlog", "age", "wait", "stuck", "infected", "signatures", "probe"].flatMap { ["--skip", $0] }
        let base = tree.args("all", skip + ["--socket", fake.socketPath, "--clamd-config", "none"])
        let critical = try Plugin.run(base + ["--clamd-scan-critical", "300"])
        #expect(critical.exitCode == 2, "\(critical)")
        #expect(critical.statusLine.hasPrefix("VIRUS_SCAN CRITICAL - clamd: longest scan SCAN /srv/uploads/incoming/slow.pdf running 6m40s (2 scans in flight) (critical above 5m)"), "\(critical)")
        let warning = try Plugin.run(base + ["--clamd-scan-warning", "300", "--clamd-scan-critical", "600"])
        #expect(warning.exitCode == 1, "\(warning)")
        #expect(try Plugin.run(base).exitCode == 0)
    }

    /// Whatever a background thread produced.
    final class Outcome: Sendable {
        let value = Mutex<Result<ScanVerdict, ClamdError>?>(nil)
        var finished: Bool { value.withLock { $0 != nil } }
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: ClamdProcess.executable)))
    func realClamdScanningASlowInstream() throws {
        let database = FileManager.default.temporaryDirectory.appendingPathComponent("cvs-db-\(UUID().uuidString.prefix(8))").path
        try ClamdModeTests.writeDaily(database, version: 27400, built: Int64(Date().timeIntervalSince1970) - 3600)
        defer { try? FileManager.default.removeItem(atPath: database) }
        let daemon = try ClamdProcess(ClamdProcess.Configuration(databaseDirectory: database, streamMaxLength: 64 << 20))
        defer { daemon.stop() }
        let asker = daemon.client()
        let plugin = ["clamd", "--socket", daemon.socketPath, "--clamd-config", "none", "--scan-warn", "0", "--scan-crit", "1h"]
        // 48 MB of a repeating 0…255 ramp: clamd takes seconds to scan it on this machine.
        var payload = [UInt8](repeating: 0, count: 48 << 20)
        payload.withUnsafeMutableBufferPointer { buffer in
            for index in buffer.indices { buffer[index] = UInt8(truncatingIfNeeded: index) }
        }

        var seen: Plugin.Run?
        for _ in 0..<3 where seen == nil {
            // INSTREAM from a pipe this test feeds: first a few bytes, slowly.
            var fds: [Int32] = [0, 0]
            #expect(pipe(&fds) == 0)
            let (readEnd, writeEnd) = (fds[0], fds[1])
            let outcome = Outcome()
            let scanner = daemon.client(timeouts: ClamdClient.Timeouts(connect: .seconds(5), command: .seconds(5), scan: .seconds(120)))
            let thread = Thread {
                let result = Result { () throws(ClamdError) in try scanner.scanInstream(fileDescriptor: readEnd) }
                outcome.value.withLock { $0 = result }
            }
            thread.start()
            #expect(payload.withUnsafeBytes { write(writeEnd, $0.baseAddress, 4096) } == 4096)
            usleep(500_000)
            // While the stream is still arriving clamd's accept thread holds it: no task line yet.
            let receiving = try asker.stats()
            #expect(receiving.inFlight.isEmpty, "\(receiving.raw)")
            #expect(!outcome.finished)
            var written = 4096
            while written < payload.count {
                let count = payload.withUnsafeBytes { write(writeEnd, $0.baseAddress! + written, payload.count - written) }
                #expect(count > 0)
                if count <= 0 { break }
                written += count
            }
            close(writeEnd)
            // The last chunk is in: clamd scans, and STATS lists the INSTREAM.
            let deadline = Date().addingTimeInterval(60)
            var task: ClamdStats.TaskLine?
            while task == nil, !outcome.finished, Date() < deadline {
                task = try asker.stats().inFlight.first { $0.command == "INSTREAM" }
                if task == nil { usleep(10_000) }
            }
            let run = try Plugin.run(plugin)
            let stillScanning = !outcome.finished
            while !outcome.finished, Date() < deadline { usleep(20_000) }
            close(readEnd)
            #expect(try outcome.value.withLock { try #require($0) }.get() == .clean)
            guard task != nil else { continue }
            #expect(task?.file == "instream(local)")
            if run.perf("active_tasks")?.value == 1 {
                seen = run
            } else {
                // Only a scan that ended before the plugin asked may be missed.
                #expect(!stillScanning, "clamd was still scanning but the plugin saw no task: \(run)")
            }
        }
        let run = try #require(seen, "clamd finished each 48 MB scan before the plugin asked")
        #expect(run.exitCode == 1, "\(run)")
        #expect(run.statusLine.hasPrefix("VIRUS_SCAN WARNING - longest scan INSTREAM instream(local) running "), "\(run)")
        #expect(run.statusLine.contains(" (warning above 0s); clamd PONG in "), "\(run)")
        #expect((run.perf("longest_scan")?.value ?? 0) > 0, "\(run)")
        #expect(run.perf("longest_scan")?.critical == "3600")
        #expect(run.perf("active_tasks")?.max == "2")
        #expect(run.stdout.contains("\n  in flight: INSTREAM instream(local) for "), "\(run)")

        // Idle again: nothing in flight, no result about it.
        let idle = try Plugin.run(plugin)
        #expect(idle.exitCode == 0, "\(idle)")
        #expect(!idle.statusLine.contains("longest scan"), "\(idle)")
        #expect(idle.perf("longest_scan")?.value == 0)
        #expect(idle.perf("active_tasks")?.value == 0)
    }
}
