import Foundation
import ScanCore
import ScanCoreTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The built `virus_scan_exporter` binary as a child process: bad requests, many connections, SIGTERM.
@Suite("Exporter binary robustness", .serialized, .timeLimit(.minutes(2)))
struct RobustnessTests {
    @Test func badRequestsManyConnectionsAndSlowClientsNeitherCrashNorGrowMemory() async throws {
        let tree = try PipelineTree()
        try tree.file("incoming/a.pdf", size: 10, age: 100)
        let exporter = try ExporterProcess(arguments: ["--root", tree.root, "--state-dir", tree.root + "/state", "--socket", tree.root + "/no-clamd.sock", "--database-dir", tree.root, "--web.idle-timeout", "2"])
        try await exporter.start()
        defer { exporter.stop() }
        let port = exporter.port

        // Warm up, then measure.
        for _ in 0..<20 { _ = try RawHTTP.request(port: port, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n") }
        let rssBefore = try #require(exporter.residentBytes())

        // Unknown paths and odd methods: 404 (or 405), never a crash.
        for path in ["/nope", "/metrics/../../etc/passwd", "/%ff%fe", "/" + String(repeating: "a", count: 4000)] {
            let reply = try RawHTTP.request(port: port, "GET \(path) HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            #expect(reply.hasPrefix("HTTP/1.1 404"), "\(path): \(reply.prefix(40))")
        }
        // Garbage instead of HTTP: the connection is answered with 400 or closed.
        let garbage = try RawHTTP.request(port: port, "\u{01}\u{02}NOT HTTP AT ALL\r\n\r\n")
        #expect(garbage.isEmpty || garbage.hasPrefix("HTTP/1.1 400"), "\(garbage.prefix(40))")
        // Huge headers (200 KiB, over the 80 KiB limit): refused, not buffered.
        let huge = "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + String(repeating: "b", count: 200 * 1024) + "\r\n\r\n"
        let hugeReply = try RawHTTP.request(port: port, huge)
        #expect(hugeReply.isEmpty || hugeReply.hasPrefix("HTTP/1.1 4"), "\(hugeReply.prefix(40))")
        // Many header lines.
        let many = "GET /metrics HTTP/1.1\r\nHost: x\r\n" + (0..<2000).map { "X-\($0): y\r\n" }.joined() + "\r\n"
        let manyReply = try RawHTTP.request(port: port, many)
        #expect(manyReply.isEmpty || manyReply.hasPrefix("HTTP/1.1 4"), "\(manyReply.prefix(40))")

        // Slow clients: 30 connections that send half a request line and stall; the server keeps serving.
        var stalled: [Int32] = []
        for _ in 0..<30 { if let fd = RawHTTP.connect(port: port) { _ = RawHTTP.send(fd, "GET /met"); stalled.append(fd) } }
        let during = try RawHTTP.request(port: port, "GET /-/healthy HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        #expect(during.hasPrefix("HTTP/1.1 200"))
        // The idle timeout (2 s here) closes them.
        try await Task.sleep(for: .seconds(4))
        let closed = stalled.filter { RawHTTP.isClosedByPeer($0) }.count
        #expect(closed == stalled.count, "\(closed) of \(stalled.count) stalled connections closed")
        stalled.forEach { close($0) }

        // Many connections at once: 300 concurrent scrapes (over the 64 served at once): all answered 200.
        let results = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<300 {
                group.addTask {
                    await runBlocking {
                        let reply = try? RawHTTP.request(port: port, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", timeout: 30)
                        return reply?.hasPrefix("HTTP/1.1 200") == true
                    }
                }
            }
            var ok = 0
            for await success in group where success { ok += 1 }
            return ok
        }
        #expect(results == 300)
        #expect(exporter.isRunning)
        let rssAfter = try #require(exporter.residentBytes())
        // Bounded: well under the 64 MiB target and no large growth from the abuse.
        #expect(rssAfter < 64 << 20, "RSS \(rssAfter >> 20) MiB")
        #expect(rssAfter < rssBefore + (24 << 20), "RSS grew from \(rssBefore >> 20) to \(rssAfter >> 20) MiB")
    }

    @Test func sigtermShutsDownGracefullyWithLogsOnStderr() async throws {
        let tree = try PipelineTree()
        let exporter = try ExporterProcess(arguments: ["--root", tree.root, "--socket", tree.root + "/no.sock", "--database-dir", tree.root])
        try await exporter.start()
        let reply = try RawHTTP.request(port: exporter.port, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        #expect(reply.hasPrefix("HTTP/1.1 200"))
        #expect(reply.contains("content-type: text/plain; version=0.0.4; charset=utf-8") || reply.contains("Content-Type: text/plain; version=0.0.4; charset=utf-8"))
        let status = try #require(try exporter.terminate(signal: SIGTERM, within: .seconds(10)))
        #expect(status == 0)
        let log = exporter.stderrText()
        #expect(log.contains("listening"))
        #expect(log.contains("stopped"))
        #expect(!loopbackAccepts(exporter.port))
    }

    @Test func sigintToo() async throws {
        let tree = try PipelineTree()
        let exporter = try ExporterProcess(arguments: ["--root", tree.root, "--socket", tree.root + "/no.sock", "--database-dir", tree.root])
        try await exporter.start()
        #expect(try exporter.terminate(signal: SIGINT, within: .seconds(10)) == 0)
    }

    @Test func badFlagsExitWithUsage() throws {
        let bad = try runProgram(ExporterProcess.binary, ["--web.listen-address", "nonsense"])
        #expect(bad.status == 64)
        #expect(bad.stderr.contains("--web.listen-address must be host:port"))
    }
}

/// The built exporter binary (next to the test bundle in the build directory).
final class ExporterProcess: @unchecked Sendable {
    static let binary: String = {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return ((exe as NSString).deletingLastPathComponent as NSString).appendingPathComponent("virus_scan_exporter")
    }()

    let port: Int
    let arguments: [String]
    let stderrPath: String
    private var pid: pid_t = 0
    private var process: ChildProcess?

    /// RLIMIT_NOFILE (soft and hard) to start the exporter with; nil: the test process's own.
    let descriptorLimit: Int?

    init(arguments: [String], descriptorLimit: Int? = nil) throws {
        self.descriptorLimit = descriptorLimit
        port = try freeLoopbackPort()
        self.arguments = arguments + ["--web.listen-address", "127.0.0.1:\(port)", "--log.level", "info"]
        stderrPath = NSTemporaryDirectory() + "vse-exporter-\(UUID().uuidString.prefix(8)).log"
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(atPath: stderrPath)
    }

    func start() async throws {
        let process = try descriptorLimit.map { limit in
            try ChildProcess("/bin/sh", ["-c", "ulimit -n \(limit) && exec \"$0\" \"$@\"", Self.binary] + arguments, outputFile: stderrPath)
        } ?? ChildProcess(Self.binary, arguments, outputFile: stderrPath)
        self.process = process
        pid = process.processIdentifier
        let port = self.port
        guard try await eventually(timeout: .seconds(20), { loopbackAccepts(port) }) else {
            throw CarbonError(message: "exporter did not listen: \(stderrText())")
        }
    }

    var isRunning: Bool { process?.isRunning ?? false }

    /// Sends `signal` and waits for the exit status (nil if it did not exit in time).
    func terminate(signal: Int32, within timeout: Duration) throws -> Int32? {
        guard pid > 0, let process else { return nil }
        kill(pid, signal)
        let seconds = Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18
        guard process.wait(timeout: seconds) != nil else { return nil }
        pid = 0
        return process.terminationReason == .exit ? process.terminationStatus : -process.terminationStatus
    }

    func stop() {
        guard pid > 0, let process else { return }
        kill(pid, SIGKILL)
        _ = process.wait(timeout: 5)
        pid = 0
    }

    func stderrText() -> String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    /// VmRSS from /proc/<pid>/status, in bytes.
    func residentBytes() -> Int? { statusBytes("VmRSS") }

    /// VmHWM (the peak resident set so far) from /proc/<pid>/status, in bytes.
    func peakResidentBytes() -> Int? { statusBytes("VmHWM") }

    /// A `kB` field of /proc/<pid>/status, in bytes.
    private func statusBytes(_ field: String) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix(field + ":") {
            return line.split(separator: " ").dropFirst().first.flatMap { Int($0) }.map { $0 * 1024 }
        }
        return nil
    }
}

/// Minimal blocking HTTP over loopback sockets, for requests a proper client refuses to send.
enum RawHTTP {
    static func connect(port: Int) -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = UInt16(port).bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let ok = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard ok == 0 else { close(fd); return nil }
        return fd
    }

    static func send(_ fd: Int32, _ text: String) -> Bool {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return false }
            bytes = bytes.dropFirst(n)
        }
        return true
    }

    /// Sends `request`, reads until the server closes (or `timeout` seconds), returns what came back.
    static func request(port: Int, _ request: String, timeout: Int = 10) throws -> String {
        guard let fd = connect(port: port) else { throw POSIXError(.ECONNREFUSED) }
        defer { close(fd) }
        var tv = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        _ = send(fd, request)  // the server may close early on a huge request
        var reply: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            reply += buffer[..<n]
        }
        return String(decoding: reply, as: UTF8.self)
    }

    /// Whether the peer has closed `fd` (a non-blocking read returns 0 or ECONNRESET).
    static func isClosedByPeer(_ fd: Int32) -> Bool {
        var byte: UInt8 = 0
        let n = recv(fd, &byte, 1, Int32(MSG_DONTWAIT))
        return n == 0 || (n < 0 && errno == ECONNRESET)
    }
}
