#if canImport(Glibc)
import Glibc
#endif
import ScanCore
import Synchronization

/// An in-process stand-in for clamd, on a unix socket in a short temporary directory, for the
/// faults a real clamd will not produce on demand: never answering, answering garbage, cutting a
/// reply short, closing at once. Each accepted connection gets the same ``Behavior``.
///
/// One thread accepts and serves connections until ``stop()`` (or deinit).
public final class FakeClamd: Sendable {
    /// What the fake does with each connection.
    public enum Behavior: Sendable, Hashable {
        /// Reads the command and never answers (the connection stays open until ``stop()``).
        case neverAnswer
        /// Reads the command, sends these bytes and closes the connection.
        case reply([UInt8])
        /// Accepts and closes at once, without reading.
        case closeImmediately
        /// Reads the command (`zPING\0`, `nSTATS\n`) and answers the text given for its name, NUL
        /// terminated, then closes; a command not in the table gets `UNKNOWN COMMAND`.
        case byCommand([String: String])

        /// A clamd whose operator disabled some commands (ClamAV 1.5's `EnableStatsCommand no`,
        /// `EnableVersionCommand no`, `EnableReloadCommand no`): they answer `COMMAND UNAVAILABLE`;
        /// PING answers PONG, VERSION (when enabled) `version`, STATS (when enabled) a one-pool reply.
        public static func disabling(_ commands: Set<String>, version: String = "ClamAV 1.5.0/27500/Wed Nov 25 10:47:56 2026") -> Behavior {
            var table = [
                "PING": "PONG",
                "VERSION": version,
                "STATS": "POOLS: 1\n\nSTATE: VALID PRIMARY\nTHREADS: live 1  idle 0 max 2 idle-timeout 30\nQUEUE: 0 items\n\tSTATS 0.000002\n\nMEMSTATS: heap N/A mmap N/A used N/A free N/A releasable N/A pools 1 pools_used 5.897M pools_total 5.980M\nEND",
                "RELOAD": "RELOADING",
            ]
            for command in commands { table[command] = "COMMAND UNAVAILABLE" }
            return .byCommand(table)
        }

        /// A complete reply that is no clamd reply: `HELLO FROM NOT-CLAMD` and its NUL.
        public static let garbage = Behavior.reply(Array("HELLO FROM NOT-CLAMD".utf8) + [0])
        /// The first bytes of a VERSION reply, with no terminating NUL, then a close.
        public static let cutShort = Behavior.reply(Array("ClamAV 1.4.6/275".utf8))
    }

    public let behavior: Behavior
    public let directory: String
    public let socketPath: String
    public var endpoint: ClamdEndpoint { .unix(path: socketPath) }

    private let server: Server
    private let thread = Mutex<pthread_t?>(nil)

    /// The number of connections accepted so far.
    public var connectionsAccepted: Int { server.state.withLock { $0.accepted } }

    /// Binds the socket, listens, and starts serving.
    public init(_ behavior: Behavior) throws {
        self.behavior = behavior
        directory = try ClamdProcess.makeTemporaryDirectory(prefix: "/tmp/fclamd-")
        socketPath = directory + "/clamd.sock"
        let listener: Int32
        do {
            listener = try Self.listen(at: socketPath)
        } catch {
            ClamdProcess.removeDirectory(directory)
            throw error
        }
        var pipeFDs: [Int32] = [0, 0]
        guard pipe(&pipeFDs) == 0 else {
            close(listener)
            ClamdProcess.removeDirectory(directory)
            throw FixtureError("cannot create a pipe: \(String(cString: strerror(errno)))")
        }
        // The thread holds the server, not this object, so that deinit runs and stops it.
        let server = Server(behavior: behavior, listener: listener, wake: (pipeFDs[0], pipeFDs[1]))
        self.server = server
        let box = Unmanaged.passRetained(ThreadBody { server.serve() }).toOpaque()
        var handle = pthread_t()
        guard pthread_create(&handle, nil, { raw in
            Unmanaged<ThreadBody>.fromOpaque(raw!).takeRetainedValue().body()
            return nil
        }, box) == 0 else {
            server.closeAll()
            ClamdProcess.removeDirectory(directory)
            throw FixtureError("cannot start the fake clamd thread")
        }
        thread.withLock { $0 = handle }
    }

    deinit { stop() }

    /// Stops serving, closes every connection and removes the socket directory. Idempotent.
    public func stop() {
        guard let handle = thread.withLock({ value -> pthread_t? in
            defer { value = nil }
            return value
        }) else { return }
        var byte: UInt8 = 1
        _ = write(server.wake.write, &byte, 1)
        pthread_join(handle, nil)
        server.closeAll()
        ClamdProcess.removeDirectory(directory)
    }

    /// Binds and listens on a unix socket at `path`.
    static func listen(at path: String) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw FixtureError("cannot create a socket: \(String(cString: strerror(errno)))") }
        guard bindUnix(fd, path) == 0, Glibc.listen(fd, 16) == 0 else {
            let text = String(cString: strerror(errno))
            close(fd)
            throw FixtureError("cannot listen on \(path): \(text)")
        }
        return fd
    }

    /// Creates a socket file at `path` with nothing listening on it (bound, never listened, closed):
    /// connecting to it is refused, as with a socket left behind by a clamd that died.
    public static func makeStaleSocket(at path: String) throws {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw FixtureError("cannot create a socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        guard bindUnix(fd, path) == 0 else {
            throw FixtureError("cannot bind \(path): \(String(cString: strerror(errno)))")
        }
    }

    private static func bindUnix(_ fd: Int32, _ path: String) -> Int32 {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        precondition(bytes.count < MemoryLayout.size(ofValue: address.sun_path), "socket path too long: \(path)")
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
    }

}

/// The listening socket and what the serving thread does with each connection.
private final class Server: Sendable {
    struct State {
        var held: [Int32] = []
        var accepted = 0
    }

    let behavior: FakeClamd.Behavior
    let listener: Int32
    let wake: (read: Int32, write: Int32)
    let state = Mutex(State())

    init(behavior: FakeClamd.Behavior, listener: Int32, wake: (read: Int32, write: Int32)) {
        self.behavior = behavior
        self.listener = listener
        self.wake = wake
    }

    /// Closes the listener, the wake pipe and every connection held open.
    func closeAll() {
        let held = state.withLock { state in
            defer { state.held = [] }
            return state.held
        }
        for fd in held { close(fd) }
        close(listener)
        close(wake.read)
        close(wake.write)
    }

    /// Accepts and serves connections until a byte arrives on the wake pipe.
    func serve() {
        while true {
            var fds = [pollfd(fd: listener, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: wake.read, events: Int16(POLLIN), revents: 0)]
            let ready = poll(&fds, 2, -1)
            if ready < 0 {
                if errno == EINTR { continue }
                return
            }
            if fds[1].revents != 0 { return }
            guard fds[0].revents != 0 else { continue }
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else { continue }
            state.withLock { $0.accepted += 1 }
            switch behavior {
            case .closeImmediately:
                close(connection)
            case .neverAnswer:
                readCommand(connection)
                state.withLock { $0.held.append(connection) }
            case .reply(let bytes):
                readCommand(connection)
                _ = bytes.withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                close(connection)
            case .byCommand(let table):
                let received = readCommand(connection)
                // `z` or `n` prefix, the name up to NUL, newline or space.
                let name = String(decoding: received.dropFirst().prefix { $0 != 0 && $0 != 10 && $0 != 32 }, as: UTF8.self)
                let bytes = Array((table[name] ?? "UNKNOWN COMMAND").utf8) + [0]
                _ = bytes.withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                close(connection)
            }
        }
    }

    /// Reads what the client sent first (up to 4 KiB, whatever arrives within 1 s).
    @discardableResult
    private func readCommand(_ connection: Int32) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: 4096)
        var descriptor = pollfd(fd: connection, events: Int16(POLLIN), revents: 0)
        guard poll(&descriptor, 1, 1000) > 0 else { return [] }
        let count = buffer.withUnsafeMutableBytes { recv(connection, $0.baseAddress, $0.count, 0) }
        return count > 0 ? Array(buffer.prefix(count)) : []
    }
}

/// A closure handed to a pthread.
private final class ThreadBody: @unchecked Sendable {
    let body: () -> Void
    init(_ body: @escaping () -> Void) { self.body = body }
}
