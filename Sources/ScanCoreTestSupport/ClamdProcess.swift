#if canImport(Glibc)
import Glibc
#endif
import ScanCore
import Synchronization

/// A real clamd (Debian's clamav-daemon, `/usr/sbin/clamd`) started for tests, with its own
/// clamd.conf, unix socket and pid file in a short temporary directory under /tmp.
///
/// The initialiser returns once clamd answers PING; ``stop()`` (or deinit) sends SIGTERM and
/// waits. clamd runs in the foreground as the current user (root on the test machines: clamd
/// accepts that when clamd.conf has no `User` line) and logs to two files in its directory, whose
/// contents are in ``output`` and in the error thrown when it does not start.
public final class ClamdProcess: Sendable {
    /// How to configure the daemon.
    public struct Configuration: Sendable {
        /// The signature database directory (`DatabaseDirectory`); nil: `db` inside the daemon's
        /// temporary directory, filled by the `writeDatabase` closure given to the initialiser.
        public var databaseDirectory: String?
        /// `MaxThreads`.
        public var maxThreads: Int
        /// `StreamMaxLength` in bytes (clamd's default is 25 MiB when nil).
        public var streamMaxLength: Int?
        /// Also listen on a free loopback TCP port (`TCPSocket`, `TCPAddr 127.0.0.1`).
        public var tcp: Bool
        /// How long to wait for the first PONG.
        public var startTimeout: Duration
        /// More clamd.conf lines, verbatim.
        public var extraLines: [String]

        public init(databaseDirectory: String? = nil, maxThreads: Int = 2, streamMaxLength: Int? = nil, tcp: Bool = false,
                    startTimeout: Duration = .seconds(60), extraLines: [String] = []) {
            self.databaseDirectory = databaseDirectory
            self.maxThreads = maxThreads
            self.streamMaxLength = streamMaxLength
            self.tcp = tcp
            self.startTimeout = startTimeout
            self.extraLines = extraLines
        }
    }

    /// The clamd binary.
    public static let executable = "/usr/sbin/clamd"

    public let configuration: Configuration
    /// The temporary directory holding clamd.conf, the socket, the pid file and the logs.
    public let directory: String
    public let socketPath: String
    /// The TCP port, when ``Configuration/tcp`` is set.
    public let tcpPort: UInt16?
    public let pid: pid_t
    /// The seconds from spawning clamd to its first PONG.
    public let startSeconds: Double
    private let stopped = Mutex(false)

    /// The unix socket endpoint.
    public var endpoint: ClamdEndpoint { .unix(path: socketPath) }
    /// The clamd.conf this daemon runs with (for `--clamd-config`).
    public var configurationPath: String { directory + "/clamd.conf" }
    /// The TCP endpoint, when configured.
    public var tcpEndpoint: ClamdEndpoint? { tcpPort.map { .tcp(host: "127.0.0.1", port: $0) } }

    /// A client for the unix socket.
    public func client(timeouts: ClamdClient.Timeouts = ClamdClient.Timeouts()) -> ClamdClient {
        ClamdClient(endpoint: endpoint, timeouts: timeouts)
    }

    /// Writes clamd.conf, starts clamd and waits until it answers PONG.
    ///
    /// Without ``Configuration/databaseDirectory``, `writeDatabase` is called with `DIR/db` (already
    /// created) to write the signatures; the directory goes when the daemon stops.
    public init(_ configuration: Configuration, writeDatabase: ((String) throws -> Void)? = nil) throws {
        self.configuration = configuration
        let directory = try Self.makeTemporaryDirectory(prefix: "/tmp/clamd-")
        let socketPath = directory + "/clamd.sock"
        let tcpPort = configuration.tcp ? try Self.freeLoopbackPort() : nil
        self.directory = directory
        self.socketPath = socketPath
        self.tcpPort = tcpPort
        let databaseDirectory = configuration.databaseDirectory ?? directory + "/db"
        do {
            if configuration.databaseDirectory == nil {
                try FileOutput.makeDirectory(databaseDirectory)
                try writeDatabase?(databaseDirectory)
            }
        } catch {
            Self.removeDirectory(directory)
            throw error
        }
        var lines = [
            "LocalSocket \(socketPath)",
            "LocalSocketMode 666",
            "DatabaseDirectory \(databaseDirectory)",
            "Foreground yes",
            "LogSyslog no",
            "LogTime yes",
            "PidFile \(directory)/clamd.pid",
            "TemporaryDirectory \(directory)",
            "MaxThreads \(configuration.maxThreads)",
            "SelfCheck 3600",
        ]
        if let limit = configuration.streamMaxLength { lines.append("StreamMaxLength \(limit)") }
        if let tcpPort {
            lines.append("TCPSocket \(tcpPort)")
            lines.append("TCPAddr 127.0.0.1")
        }
        lines += configuration.extraLines
        try FileOutput.write(lines.joined(separator: "\n") + "\n", to: directory + "/clamd.conf")

        let started = MonotonicClock.now()
        let pid = try Self.spawn(
            [Self.executable, "--config-file=\(directory)/clamd.conf"],
            stdout: directory + "/clamd.out", stderr: directory + "/clamd.err")
        self.pid = pid
        Self.running.withLock { $0[pid] = directory }
        Self.registerExitHandler

        let probe = ClamdClient(
            endpoint: .unix(path: socketPath),
            timeouts: ClamdClient.Timeouts(connect: .seconds(1), command: .seconds(2), scan: .seconds(2)))
        let deadline = ContinuousClock.now + configuration.startTimeout
        var lastError: ClamdError?
        while true {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                Self.running.withLock { _ = $0.removeValue(forKey: pid) }
                let text = Self.readOutput(directory)
                Self.removeDirectory(directory)
                throw FixtureError(
                    "clamd exited (status \(status)) before answering PING; config \(directory)/clamd.conf; its output:\n\(text)")
            }
            do {
                try probe.ping()
                break
            } catch {
                lastError = error
            }
            if ContinuousClock.now >= deadline {
                let text = Self.readOutput(directory)
                Self.terminate(pid)
                Self.running.withLock { _ = $0.removeValue(forKey: pid) }
                Self.removeDirectory(directory)
                throw FixtureError(
                    "clamd did not answer PING within \(configuration.startTimeout) (last error: \(lastError.map { "\($0)" } ?? "none")); its output:\n\(text)")
            }
            usleep(20_000)
        }
        startSeconds = MonotonicClock.now() - started
    }

    deinit { stop() }

    /// clamd's stdout and stderr so far.
    public var output: String { Self.readOutput(directory) }

    /// Sends SIGTERM, waits for clamd to exit (SIGKILL after 10 s) and removes the directory. Idempotent.
    public func stop() {
        let already = stopped.withLock { value in
            defer { value = true }
            return value
        }
        if already { return }
        Self.terminate(pid)
        Self.running.withLock { _ = $0.removeValue(forKey: pid) }
        Self.removeDirectory(directory)
    }

    /// Whether the clamd process is still running.
    public var isRunning: Bool {
        if stopped.withLock({ $0 }) { return false }
        return kill(pid, 0) == 0
    }

    // MARK: Process plumbing

    /// Daemons still running, so that they are stopped when the test process exits.
    private static let running = Mutex<[pid_t: String]>([:])

    private static let registerExitHandler: Void = {
        atexit {
            let daemons = ClamdProcess.running.withLock { running in
                defer { running.removeAll() }
                return running
            }
            for (pid, directory) in daemons {
                ClamdProcess.terminate(pid)
                ClamdProcess.removeDirectory(directory)
            }
        }
    }()

    /// SIGTERM, then wait up to 10 s, then SIGKILL.
    static func terminate(_ pid: pid_t) {
        kill(pid, SIGTERM)
        var status: Int32 = 0
        for _ in 0..<1000 {
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid || (result < 0 && errno == ECHILD) { return }
            usleep(10_000)
        }
        kill(pid, SIGKILL)
        _ = waitpid(pid, &status, 0)
    }

    /// posix_spawn with stdin from /dev/null and stdout/stderr to files.
    static func spawn(_ arguments: [String], stdout: String, stderr: String) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, arguments[0], &actions, nil, &argv, environ)
        guard result == 0 else {
            throw FixtureError("cannot start \(arguments[0]): \(String(cString: strerror(result)))")
        }
        return pid
    }

    /// Runs a command to completion (stdout and stderr to /dev/null) and returns its exit status.
    public static func run(_ arguments: [String]) throws -> Int32 {
        let pid = try spawn(arguments, stdout: "/dev/null", stderr: "/dev/null")
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }

    static func readOutput(_ directory: String) -> String {
        var text = ""
        for name in ["clamd.out", "clamd.err"] {
            if let bytes = try? FileOutput.read(directory + "/" + name), !bytes.isEmpty {
                text += "--- \(name)\n" + String(decoding: bytes, as: UTF8.self)
            }
        }
        return text.isEmpty ? "(no output)" : text
    }

    /// A new directory `prefix` + 6 random characters (mkdtemp), mode 0755 so clamd can read it.
    public static func makeTemporaryDirectory(prefix: String) throws -> String {
        var template = Array((prefix + "XXXXXX").utf8CString)
        guard let result = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw FixtureError("cannot create a temporary directory \(prefix)XXXXXX: \(String(cString: strerror(errno)))")
        }
        let path = String(cString: result)
        chmod(path, 0o755)
        return path
    }

    /// Removes a directory tree (files, sockets and subdirectories; symlinks are not followed).
    public static func removeDirectory(_ path: String) {
        guard let dir = opendir(path) else {
            unlink(path)
            return
        }
        var children: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name == "." || name == ".." { continue }
            children.append(name)
        }
        closedir(dir)
        for name in children {
            let child = path + "/" + name
            var info = stat()
            if lstat(child, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR {
                removeDirectory(child)
            } else {
                unlink(child)
            }
        }
        rmdir(path)
    }

    /// A loopback TCP port free at the time of asking (bound to port 0, read back, closed).
    public static func freeLoopbackPort() throws -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw FixtureError("cannot create a socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0 else { throw FixtureError("cannot bind a loopback port: \(String(cString: strerror(errno)))") }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return UInt16(bigEndian: address.sin_port)
    }
}

/// A daily database clamd reports in VERSION: `daily.cud`, ClamAV's unsigned container (built by
/// ``DatabaseContainer``) holding one body signature. clamd loads a .cud without a digital
/// signature, takes the daily version and build time from its header and prints them in its
/// VERSION reply (`ClamAV 1.4.6/VERSION/DATE`). Its signature is reported with `.UNOFFICIAL`.
public enum UnsignedDailyDatabase {
    /// The signature in `daily.ndb`; it matches ``matchingBytes``.
    public static let signature = "VirusScan.Test.Daily-1"
    /// The name a scan reports for ``signature``.
    public static var reportedSignature: String { SignatureFixtures.reported(signature) }
    /// A file the daily signature detects.
    public static let matchingBytes = Array("virus-scan-monitoring daily database marker 8f3c1e\n".utf8)

    /// Writes `daily.cud` into `directory`.
    public static func write(to directory: String, version: Int, buildTime: Int64) throws {
        let marker = Array("daily database marker 8f3c1e".utf8)
        let ndb = Array("\(signature):0:*:\(Checksums.hex(marker))\n".utf8)
        let bytes = DatabaseContainer.build(
            name: "daily", files: [("daily.ndb", ndb)], kind: .cud, version: version, buildTimestamp: buildTime)
        try FileOutput.write(bytes, to: directory + "/daily.cud")
    }
}
