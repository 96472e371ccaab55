import Foundation
import ScanCore
import ScanCoreTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// Whether something accepts TCP connections on 127.0.0.1:`port`.
func loopbackAccepts(_ port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = UInt16(port).bigEndian
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    return withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    } == 0
}

/// A throw-away carbon-cache (Debian's graphite-carbon) on loopback, configured as in conventions §4.3.
final class CarbonCache: @unchecked Sendable {
    let directory: String
    let linePort: Int
    private var process: ChildProcess?

    init() throws {
        directory = NSTemporaryDirectory() + "vse-carbon-\(UUID().uuidString.prefix(8))"
        for sub in ["conf", "storage/whisper", "storage/lists", "log", "run"] {
            try FileManager.default.createDirectory(atPath: directory + "/" + sub, withIntermediateDirectories: true)
        }
        linePort = try freeLoopbackPort()
        let picklePort = try freeLoopbackPort()
        let queryPort = try freeLoopbackPort()
        let conf = """
            [cache]
            STORAGE_DIR = \(directory)/storage/
            LOCAL_DATA_DIR = \(directory)/storage/whisper/
            WHITELISTS_DIR = \(directory)/storage/lists/
            CONF_DIR = \(directory)/conf/
            LOG_DIR = \(directory)/log/
            PID_DIR = \(directory)/run/
            USER =
            DATABASE = whisper
            ENABLE_LOGROTATION = False
            LINE_RECEIVER_INTERFACE = 127.0.0.1
            LINE_RECEIVER_PORT = \(linePort)
            ENABLE_UDP_LISTENER = False
            PICKLE_RECEIVER_INTERFACE = 127.0.0.1
            PICKLE_RECEIVER_PORT = \(picklePort)
            CACHE_QUERY_INTERFACE = 127.0.0.1
            CACHE_QUERY_PORT = \(queryPort)
            MAX_CACHE_SIZE = inf
            MAX_UPDATES_PER_SECOND = inf
            MAX_CREATES_PER_MINUTE = inf
            WHISPER_AUTOFLUSH = True
            ENABLE_TAGS = False

            """
        try conf.write(toFile: directory + "/conf/carbon.conf", atomically: true, encoding: .utf8)
        try "[default]\npattern = .*\nretentions = 10s:1d\n".write(toFile: directory + "/conf/storage-schemas.conf", atomically: true, encoding: .utf8)
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Starts carbon-cache in the foreground (as a child) and waits until its line port accepts.
    func start() async throws {
        // posix_spawn (ChildProcess), never Foundation's Process: see ChildProcess.
        self.process = try ChildProcess(
            "/usr/bin/carbon-cache",
            ["--config=\(directory)/conf/carbon.conf", "--pidfile=\(directory)/run/carbon.pid", "--logdir=\(directory)/log/", "--nodaemon", "start"])
        let port = linePort
        guard try await eventually(timeout: .seconds(30), { loopbackAccepts(port) }) else {
            throw CarbonError(message: "carbon-cache did not listen on 127.0.0.1:\(port)")
        }
    }

    /// Stops it (SIGTERM, SIGKILL after 5 s) without blocking on Foundation's waitUntilExit.
    func stop() {
        guard let process else { return }
        stopChild(process)
        try? FileManager.default.removeItem(atPath: directory + "/run/carbon.pid")
        self.process = nil
    }

    /// `whisper-fetch` of a metric path (dots) from `from`: (timestamp, value) for non-null points.
    /// (Not `--drop=nulls`: whisper-fetch 1.1.7 then re-numbers the remaining points from `from`.)
    func fetch(_ metricPath: String, from: Int) throws -> [(Int, Double)] {
        let file = directory + "/storage/whisper/" + metricPath.replacingOccurrences(of: ".", with: "/") + ".wsp"
        guard FileManager.default.fileExists(atPath: file) else { return [] }
        let result = try runProgram("/usr/bin/whisper-fetch", ["--from=\(from)", file])
        guard result.status == 0 else { throw CarbonError(message: "whisper-fetch failed: \(result.stderr)") }
        return result.stdout.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: "\t")
            guard parts.count == 2, let t = Int(parts[0]), let v = Double(parts[1]) else { return nil }
            return (t, v)
        }
    }
}

struct CarbonError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// SIGTERM, then SIGKILL if the child is still running after `grace`; polls `isRunning` (never blocks forever).
func stopChild(_ process: ChildProcess, grace: Double = 5) {
    process.stop(grace: grace)
}
