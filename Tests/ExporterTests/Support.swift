import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
import NIOCore
import ScanCore
import ScanCoreTestSupport
import ServiceLifecycle
import Synchronization

@testable import exporter

#if canImport(Glibc)
import Glibc
#endif

/// A temporary pipeline tree (the standard layout) under /tmp, removed on deinit.
final class PipelineTree: @unchecked Sendable {
    let root: String
    let layout: PipelineLayout

    init() throws {
        var template = Array("/tmp/vse-XXXXXX".utf8CString)
        guard mkdtemp(&template) != nil else { throw POSIXError(.EIO) }
        root = String(cString: template)
        layout = PipelineLayout.standard(root: root)
        for queue in layout.queues {
            for dir in [queue.incoming, queue.clean, queue.infected] {
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            }
        }
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    /// Writes a file of `size` bytes at `relative` (under root) with its mtime `age` seconds ago.
    @discardableResult
    func file(_ relative: String, size: Int = 0, age: Double = 0, now: Double = WallClock.now()) throws -> String {
        let path = root + "/" + relative
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        guard FileManager.default.createFile(atPath: path, contents: Data(repeating: 0x61, count: size)) else { throw POSIXError(.EIO) }
        try setMTime(path, now - age)
        return path
    }

    func setMTime(_ path: String, _ mtime: Double) throws {
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: mtime)], ofItemAtPath: path)
    }

    /// Moves a file from a queue to an outcome tree as the scanner does (rename: ctime = now).
    func move(_ from: String, to: String) throws {
        let target = root + "/" + to
        try FileManager.default.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        guard rename(root + "/" + from, target) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    }
}

/// Result of running a program.
struct ProgramResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs a program to completion, feeding `input` on stdin (posix_spawn via ChildProcess, output and
/// input through files, never Foundation's Process or pipes).
func runProgram(_ executable: String, _ arguments: [String], input: String? = nil, currentDirectory: String? = nil) throws -> ProgramResult {
    var stdinPath: String? = nil
    if let input {
        let path = NSTemporaryDirectory() + "vse-stdin-\(UUID().uuidString.prefix(8))"
        FileManager.default.createFile(atPath: path, contents: Data(input.utf8))
        stdinPath = path
    }
    defer { if let stdinPath { unlink(stdinPath) } }
    let result = try ChildProcess.run(executable, arguments, timeout: 120, workingDirectory: currentDirectory, stdin: stdinPath)
    return ProgramResult(status: result.exitCode ?? -1, stdout: result.stdout, stderr: result.stderr)
}

/// A loopback TCP port nobody listens on right now (bind to 0, read it back, close).
func freeLoopbackPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw POSIXError(.EIO) }
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = 0
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    guard bound == 0 else { throw POSIXError(.EADDRINUSE) }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
    return Int(UInt16(bigEndian: addr.sin_port))
}

/// The repository root (for prometheus/, grafana/).
let repositoryRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path
}()

/// Polls `condition` every 100 ms until it holds or `timeout` passes.
func eventually(timeout: Duration = .seconds(20), _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(100))
    }
    return try await condition()
}

/// Parses exposition text into `name{labels}` → value (sample lines only), for assertions.
func parseSamples(_ text: String) -> [String: Double] {
    var result: [String: Double] = [:]
    for line in text.split(separator: "\n") where !line.hasPrefix("#") {
        guard let space = line.lastIndex(of: " ") else { continue }
        result[String(line[..<space])] = Double(line[line.index(after: space)...]) ?? (line.hasSuffix("+Inf") ? .infinity : .nan)
    }
    return result
}

/// A collector for the Scraper's own tests: fixed families, optional failure and delay, counts its runs.
final class ScriptedCollector: Collector {
    let name: String
    let families: [MetricFamily]
    let fails: Bool
    let delay: Duration
    let calls = Atomic<Int>(0)
    /// Collections in flight right now, across every ScriptedCollector sharing `overlap`.
    let overlap: Overlap?

    /// Counts how many collections run at once (the most seen).
    final class Overlap: Sendable {
        let current = Atomic<Int>(0)
        let most = Atomic<Int>(0)
        init() {}
    }

    init(name: String, families: [MetricFamily] = [], fails: Bool = false, delay: Duration = .zero, overlap: Overlap? = nil) {
        self.overlap = overlap
        self.name = name
        self.families = families
        self.fails = fails
        self.delay = delay
    }

    func collect(now: Double) async -> CollectorResult {
        calls.add(1, ordering: .relaxed)
        if let overlap {
            let now = overlap.current.add(1, ordering: .sequentiallyConsistent).newValue
            _ = overlap.most.max(now, ordering: .sequentiallyConsistent)
        }
        if delay > .zero { try? await Task.sleep(for: delay) }
        if let overlap { _ = overlap.current.subtract(1, ordering: .sequentiallyConsistent) }
        return fails ? .failure("\(name) broke", families: families) : CollectorResult(families: families)
    }
}

/// Runs the exporter app (built by `buildApplication(config:)`) on a free loopback port while `body` runs,
/// then shuts it down gracefully.
func withRunningExporter<T: Sendable>(
    _ config: ExporterConfiguration, _ body: @escaping @Sendable (Int) async throws -> T
) async throws -> T {
    var config = config
    config.listen = ListenAddress(host: "127.0.0.1", port: 0)
    let (portStream, portContinuation) = AsyncStream.makeStream(of: Int.self)
    config.onServerRunning = { port in portContinuation.yield(port) }
    var logger = Logger(label: "exporter-test")
    logger.logLevel = .warning
    let app = buildApplication(config: config, logger: logger)
    let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
    return try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        var iterator = portStream.makeAsyncIterator()
        guard let port = await iterator.next() else { throw POSIXError(.EIO) }
        do {
            let value = try await body(port)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return value
        } catch {
            await group.triggerGracefulShutdown()
            try? await tasks.waitForAll()
            throw error
        }
    }
}

/// GET over a real loopback connection.
func httpGet(port: Int, _ path: String, headers: HTTPFields = [:]) async throws -> TestClient.Response {
    try await TestClient.withClient(host: "127.0.0.1", port: port) { client in
        try await client.get(path, headers: headers)
    }
}

extension TestClient.Response {
    var text: String { body.map { String(buffer: $0) } ?? "" }
}
