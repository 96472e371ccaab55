import Foundation
import ScanCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A real dnsmasq on 127.0.0.1 (a free UDP port), serving given TXT records and nothing else
/// (no upstream servers, no /etc/hosts). Stopped by `stop()` or when released.
public final class Dnsmasq {
    public static let binary = "/usr/sbin/dnsmasq"
    public static var available: Bool { FileManager.default.isExecutableFile(atPath: binary) && getuid() == 0 }

    public let port: UInt16
    /// Spawned with posix_spawn, not Foundation's Process: Foundation's reaper blocks in wait4 on one
    /// long-lived child, so other Processes' exits (the plugin's) would go unnoticed while it runs.
    private let pid: pid_t
    private let stopped = Mutex(false)

    /// `records`: name → TXT text.
    public init(txt records: [String: String]) throws {
        port = try Dnsmasq.freeUDPPort()
        let arguments = [
            Dnsmasq.binary, "--keep-in-foreground", "--port=\(port)", "--listen-address=127.0.0.1", "--bind-interfaces",
            "--no-resolv", "--no-hosts", "--user=root", "--pid-file=", "--conf-file=/dev/null", "--log-facility=/dev/null",
        ] + records.sorted { $0.key < $1.key }.map { "--txt-record=\($0.key),\($0.value)" }
        var child = pid_t()
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        let rc = posix_spawn(&child, Dnsmasq.binary, &actions, nil, &argv, environ)
        for pointer in argv { free(pointer) }
        posix_spawn_file_actions_destroy(&actions)
        guard rc == 0 else { throw FixtureError("cannot start dnsmasq: error \(rc)") }
        pid = child
        // Ready when it answers.
        let client = DNSTXTClient(server: "127.0.0.1", port: port, timeout: 0.2, attempts: 1)
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid { throw FixtureError("dnsmasq exited with status \(status)") }
            do {
                _ = try client.txt(records.keys.first ?? "ready.invalid")
                return
            } catch {
                if error.code != .timeout && error.code != .unreachable { return }
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw FixtureError("dnsmasq did not answer on port \(port)")
    }

    /// `127.0.0.1:PORT`, as `--dns-server` takes it.
    public var address: String { "127.0.0.1:\(port)" }

    /// SIGKILL: a child started from a test thread may inherit a mask that blocks SIGTERM.
    public func stop() {
        let first = stopped.withLock { done in
            defer { done = true }
            return !done
        }
        guard first else { return }
        kill(pid, SIGKILL)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    }

    deinit { stop() }

    /// A UDP port nothing listens on right now (bound to port 0, read back, released).
    public static func freeUDPPort() throws -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw FixtureError("socket: \(errno)") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        guard bound == 0 else { throw FixtureError("bind: \(errno)") }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return UInt16(bigEndian: address.sin_port)
    }
}
