import Foundation
import HTTPTypes
import HummingbirdTesting
import ScanCore
import ScanCoreTestSupport
import Synchronization
import Testing

@testable import exporter

#if canImport(Glibc)
import Glibc
#endif

/// The exporter under abuse: connection floods and slow-loris clients against the
/// real binary, FIFOs where files are expected, SIGTERM mid-scrape, HEAD and 405. Loopback only;
/// every test stops by itself (sockets are closed, the exporter killed on exit).
@Suite("Exporter under abuse", .serialized, .timeLimit(.minutes(2)))
struct AbuseTests {
    /// 500 connections that send nothing and 200 that send their request one byte a second, at once:
    /// scrapes still answer in under a second; every one of the 700 is closed by the header deadline
    /// (5 s, the default) within a few seconds of it; the peak RSS stays bounded.
    @Test func floodOfIdleAndSlowLorisConnectionsDoesNotStarveScrapes() async throws {
        Flood.raiseDescriptorLimit(to: 4096)
        let tree = try PipelineTree()
        try tree.file("incoming/a.pdf", size: 10, age: 100)
        let exporter = try ExporterProcess(arguments: [
            "--root", tree.root, "--state-dir", tree.root + "/state", "--socket", tree.root + "/no-clamd.sock",
            "--database-dir", tree.root,
        ])
        try await exporter.start()
        defer { exporter.stop() }
        let port = exporter.port
        for _ in 0..<5 { _ = try RawHTTP.request(port: port, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n") }
        let rssBefore = try #require(exporter.residentBytes())

        let flood = Flood(port: port)
        defer { flood.closeAll() }
        let opened = ContinuousClock.now
        let idle = flood.open(500)
        let slow = flood.open(200)
        #expect(idle.count == 500 && slow.count == 200, "opened \(idle.count) idle, \(slow.count) slow")
        let request = Array("GET /metrics HTTP/1.1\r\nHost: x\r\nUser-Agent: slow\r\nConnection: close\r\n\r\n".utf8)

        // Four rounds, one a second: every slow client sends its next byte, then one real scrape.
        var latencies: [Double] = []
        var statuses: [String] = []
        for round in 0..<4 {
            flood.send(byte: request[round], to: slow)
            try await Task.sleep(for: .milliseconds(900))
            let start = ContinuousClock.now
            let reply = await runBlocking { flood.scrape(timeout: 5) }
            latencies.append((ContinuousClock.now - start).seconds)
            statuses.append(String(reply.prefix(12)))
        }
        let peak = try #require(exporter.peakResidentBytes())
        print("flood: scrape latencies \(latencies.map { String(format: "%.3f", $0) }) s; RSS \(rssBefore >> 10) KiB before, peak (VmHWM) \(peak >> 10) KiB")
        #expect(statuses == Array(repeating: "HTTP/1.1 200", count: 4), "\(statuses)")
        #expect(latencies.allSatisfy { $0 < 1 }, "scrape latencies \(latencies)")

        // Keep trickling until every flood connection is closed by the server (deadline 5 s + slack).
        var round = 4
        var closed = 0
        while ContinuousClock.now - opened < .seconds(9) {
            flood.send(byte: request[round % request.count], to: slow)
            round += 1
            try await Task.sleep(for: .milliseconds(500))
            closed = (idle + slow).filter { RawHTTP.isClosedByPeer($0) }.count
            if closed == idle.count + slow.count { break }
        }
        let closedAfter = (ContinuousClock.now - opened).seconds
        print("flood: \(closed) of \(idle.count + slow.count) connections closed by the server \(String(format: "%.1f", closedAfter)) s after opening")
        #expect(closed == idle.count + slow.count)
        #expect(closedAfter >= 4.5, "closed before the 5 s header deadline: \(closedAfter) s")
        #expect(exporter.isRunning)
        // Bounded: the whole flood costs a few MiB (about 10 KiB a connection), far under the 64 MiB target.
        #expect(peak < 64 << 20, "peak RSS \(peak >> 20) MiB")
        #expect(peak < rssBefore + (24 << 20), "peak RSS \(peak >> 20) MiB, \(rssBefore >> 20) MiB before the flood")
        let after = await runBlocking { flood.scrape(timeout: 5) }
        #expect(after.hasPrefix("HTTP/1.1 200"))
    }

    /// FIFOs named like the files the collectors read: `daily.cvd` in the database directory,
    /// `journal.jsonl` and `rescan-state.json` in the state directory. A scrape answers at once with
    /// those collectors failed (nothing ever opens a FIFO for a blocking read), and SIGTERM ends the
    /// exporter within 5 s.
    @Test func fifosInTheDatabaseAndStateDirectoriesAreReportedNotWaitedOn() async throws {
        let tree = try PipelineTree()
        let database = tree.root + "/db"
        let state = tree.root + "/state"
        for dir in [database, state] { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        for fifo in [database + "/daily.cvd", state + "/journal.jsonl", state + "/rescan-state.json"] {
            #expect(mkfifo(fifo, 0o600) == 0, "mkfifo \(fifo)")
        }
        let exporter = try ExporterProcess(arguments: [
            "--root", tree.root, "--state-dir", state, "--socket", tree.root + "/no-clamd.sock", "--database-dir", database,
        ])
        try await exporter.start()
        defer { exporter.stop() }
        let start = ContinuousClock.now
        let reply = try RawHTTP.request(port: exporter.port, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", timeout: 10)
        let took = (ContinuousClock.now - start).seconds
        #expect(reply.hasPrefix("HTTP/1.1 200"), "\(reply.prefix(60))")
        #expect(took < 2, "scrape took \(took) s")
        let samples = parseSamples(String(reply[(reply.range(of: "\r\n\r\n")?.upperBound ?? reply.startIndex)...]))
        for collector in ["signatures", "journal", "rescan"] {
            #expect(samples["virus_scan_collector_success{collector=\"\(collector)\"}"] == 0, "\(collector)")
        }
        #expect(samples["virus_scan_collector_success{collector=\"queue\"}"] == 1)
        let log = exporter.stderrText()
        for path in [database + "/daily.cvd", state + "/journal.jsonl", state + "/rescan-state.json"] {
            #expect(log.contains(path) && log.contains("not a regular file"), "the log names \(path): \(log)")
        }
        let stopStart = ContinuousClock.now
        let status = try exporter.terminate(signal: SIGTERM, within: .seconds(5))
        #expect(status == 0, "exit \(String(describing: status)) after \((ContinuousClock.now - stopStart).seconds) s")
    }

    /// SIGTERM while a scrape waits on a clamd that accepted the connection and never answers (the
    /// clamd collector would hold the scrape for its 5 s command timeout per command): the exporter
    /// still exits within 5 s, and the scrape in flight is answered, not dropped.
    @Test func sigtermEndsTheExporterMidScrape() async throws {
        let tree = try PipelineTree()
        let clamd = try FakeClamd(.neverAnswer)
        defer { clamd.stop() }
        let exporter = try ExporterProcess(arguments: [
            "--root", tree.root, "--state-dir", tree.root + "/state", "--socket", clamd.socketPath, "--database-dir", tree.root,
        ])
        try await exporter.start()
        defer { exporter.stop() }
        let port = exporter.port
        let scrape = Task { await runBlocking { (try? RawHTTP.request(port: port, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", timeout: 20)) ?? "" } }
        #expect(try await eventually(timeout: .seconds(10)) { clamd.connectionsAccepted > 0 })
        try await Task.sleep(for: .milliseconds(300))
        let start = ContinuousClock.now
        let status = try exporter.terminate(signal: SIGTERM, within: .seconds(5))
        let took = (ContinuousClock.now - start).seconds
        #expect(status == 0, "exit \(String(describing: status)) after \(took) s")
        // Not held by the scrape: the clamd collector alone would keep it 5 s (its command timeout).
        #expect(took < 3, "SIGTERM took \(took) s")
        let reply = await scrape.value
        #expect(reply.hasPrefix("HTTP/1.1 200"), "the scrape in flight: \(reply.prefix(60))")
        #expect(reply.contains("virus_scan_collector_success{collector=\"clamd\"} 0"))
    }

    /// In process: a collector that does not return is reported failed at the deadline, the others
    /// are not held, and it is not started again while the first attempt is still stuck.
    @Test func aStuckCollectorIsCutOffAtTheScrapeDeadline() async throws {
        let stuck = BlockingCollector()
        defer { stuck.release() }
        var config = ExporterConfiguration()
        config.collectors = [ScriptedCollector(name: "queue"), stuck]
        config.scrapeTimeout = .milliseconds(500)
        try await withRunningExporter(config) { port in
            for attempt in 0..<2 {
                let start = ContinuousClock.now
                let reply = try await httpGet(port: port, "/metrics")
                let took = (ContinuousClock.now - start).seconds
                #expect(reply.status == .ok)
                #expect(took < (attempt == 0 ? 2 : 0.5), "scrape \(attempt) took \(took) s")
                let samples = parseSamples(reply.text)
                #expect(samples["virus_scan_collector_success{collector=\"stuck\"}"] == 0)
                #expect(samples["virus_scan_collector_success{collector=\"queue\"}"] == 1)
            }
        }
        #expect(stuck.calls.load(ordering: .relaxed) == 1)
    }

    @Test func headAndOtherMethods() async throws {
        var config = ExporterConfiguration()
        config.collectors = [ScriptedCollector(name: "queue", families: [.gauge("virus_scan_test", help: "t", value: 1)])]
        try await withRunningExporter(config) { port in
            let head = try RawHTTP.request(port: port, "HEAD /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            #expect(head.hasPrefix("HTTP/1.1 200"), "\(head)")
            #expect(head.lowercased().contains("content-type: text/plain; version=0.0.4"), "\(head)")
            #expect(head.hasSuffix("\r\n\r\n"), "HEAD has no body: \(head)")
            for (method, path) in [("POST", "/metrics"), ("PUT", "/metrics"), ("DELETE", "/"), ("PATCH", "/-/healthy"), ("OPTIONS", "/metrics"), ("PROPFIND", "/metrics")] {
                let reply = try RawHTTP.request(port: port, "\(method) \(path) HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                #expect(reply.hasPrefix("HTTP/1.1 405"), "\(method) \(path): \(reply.prefix(40))")
                #expect(reply.lowercased().contains("allow: get, head"), "\(method) \(path): \(reply)")
            }
            let unknown = try RawHTTP.request(port: port, "POST /nope HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            #expect(unknown.hasPrefix("HTTP/1.1 404"), "\(unknown.prefix(40))")
            let get = try RawHTTP.request(port: port, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            #expect(get.hasPrefix("HTTP/1.1 200") && get.contains("virus_scan_test 1"))
        }
    }

    /// Started with RLIMIT_NOFILE 300 (soft and hard): the cap is 300 minus the reserve (128 with the
    /// default 2 snapshot threads), whatever `--web.max-connections` asks; 250 idle connections (over
    /// the cap) neither crash it nor keep a scrape waiting past the header deadline.
    @Test func connectionCapFollowsALowDescriptorLimit() async throws {
        let tree = try PipelineTree()
        let exporter = try ExporterProcess(
            arguments: ["--root", tree.root, "--state-dir", tree.root + "/state", "--socket", tree.root + "/no-clamd.sock", "--database-dir", tree.root, "--web.max-connections", "1000"],
            descriptorLimit: 300)
        try await exporter.start()
        defer { exporter.stop() }
        let log = exporter.stderrText()
        #expect(log.contains("RLIMIT_NOFILE=300 connections=172"), "\(log)")
        #expect(log.contains("asked=1000 cap=172"), "\(log)")
        let flood = Flood(port: exporter.port)
        defer { flood.closeAll() }
        let idle = flood.open(250)
        let start = ContinuousClock.now
        let reply = await runBlocking { flood.scrape(timeout: 10) }
        let took = (ContinuousClock.now - start).seconds
        print("cap 172, \(idle.count) idle connections: scrape answered after \(String(format: "%.2f", took)) s")
        #expect(reply.hasPrefix("HTTP/1.1 200"), "\(reply.prefix(40))")
        #expect(took < 7, "the scrape waited \(took) s")
        #expect(exporter.isRunning)
    }

    @Test func connectionCapFollowsTheDescriptorLimit() {
        let reserve = ConnectionLimit.reserve(snapshotThreads: 2)
        let (soft, cap) = ConnectionLimit.derive(snapshotThreads: 2)
        var limit = rlimit()
        #expect(getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0)
        #expect(Int(limit.rlim_cur) == soft)
        #expect(cap == min(ConnectionLimit.ceiling, max(8, soft - reserve)))
        #expect(cap + reserve <= soft || cap == 8)
    }
}

/// A collector whose work blocks a thread until released (a read the kernel never completes).
final class BlockingCollector: Collector {
    let name = "stuck"
    let calls = Atomic<Int>(0)
    private let gate = DispatchSemaphore(value: 0)

    func collect(now: Double) async -> CollectorResult {
        calls.add(1, ordering: .relaxed)
        let gate = self.gate
        await runBlocking { gate.wait() }
        return CollectorResult(families: [])
    }

    func release() { gate.signal() }
}

/// Many loopback client sockets driven from one thread, non-blocking: connect and leave idle, or
/// send a byte at a time.
final class Flood: @unchecked Sendable {
    let port: Int
    private var fds: [Int32] = []

    init(port: Int) { self.port = port }

    /// Opens `count` connections, 50 at a time (non-blocking connects, then one poll() for all of
    /// them to complete, so that the listen backlog never overflows into SYN retries); returns the
    /// established ones.
    func open(_ count: Int) -> [Int32] {
        var opened: [Int32] = []
        while opened.count < count {
            var pending: [Int32] = []
            for _ in 0..<min(50, count - opened.count) {
                let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
                guard fd >= 0 else { break }
                var addr = sockaddr_in()
                addr.sin_family = sa_family_t(AF_INET)
                addr.sin_port = UInt16(port).bigEndian
                addr.sin_addr.s_addr = inet_addr("127.0.0.1")
                let result = withUnsafePointer(to: &addr) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
                }
                guard result == 0 || errno == EINPROGRESS else { close(fd); continue }
                pending.append(fd)
                fds.append(fd)
            }
            if pending.isEmpty { break }
            let deadline = ContinuousClock.now + .seconds(5)
            var waiting = pending
            while !waiting.isEmpty && ContinuousClock.now < deadline {
                var polled = waiting.map { pollfd(fd: $0, events: Int16(POLLOUT), revents: 0) }
                _ = poll(&polled, nfds_t(polled.count), 100)
                waiting = polled.filter { $0.revents == 0 }.map(\.fd)
            }
            for fd in pending where !waiting.contains(fd) {
                var error: Int32 = 0
                var length = socklen_t(MemoryLayout<Int32>.size)
                if getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0, error == 0 { opened.append(fd) }
            }
            if !waiting.isEmpty { break }
        }
        return opened
    }

    /// One `GET /metrics` on a fresh connection, everything (the connect too: a full listen backlog
    /// drops SYNs, and a blocking connect would retry for minutes) bounded by `timeout` seconds.
    /// Returns what came back before the server closed, or before the deadline.
    func scrape(timeout: Double) -> String {
        let deadline = ContinuousClock.now + .milliseconds(Int64(timeout * 1000))
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return "" }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = UInt16(port).bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 || errno == EINPROGRESS else { return "" }
        func wait(_ events: Int32) -> Bool {
            let left = Int32(max(0, (deadline - ContinuousClock.now).seconds * 1000))
            var polled = pollfd(fd: fd, events: Int16(events), revents: 0)
            return left > 0 && poll(&polled, 1, left) == 1
        }
        guard wait(POLLOUT) else { return "" }
        let request = Array("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8)
        guard request.withUnsafeBytes({ Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == request.count else { return "" }
        var reply: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while wait(POLLIN) {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            reply += buffer[..<n]
        }
        return String(decoding: reply, as: UTF8.self)
    }

    func send(byte: UInt8, to sockets: [Int32]) {
        var byte = byte
        for fd in sockets { _ = Glibc.send(fd, &byte, 1, Int32(MSG_DONTWAIT | MSG_NOSIGNAL)) }
    }

    func closeAll() {
        fds.forEach { close($0) }
        fds = []
    }

    /// The test process holds 700 sockets at once: make sure its own soft limit allows it.
    static func raiseDescriptorLimit(to wanted: Int) {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < rlim_t(wanted) else { return }
        limit.rlim_cur = min(rlim_t(wanted), limit.rlim_max)
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }
}
