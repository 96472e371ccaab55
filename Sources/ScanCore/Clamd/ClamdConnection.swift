#if canImport(Glibc)
import Glibc
#endif
import CScanSupport

/// One connection to clamd: a non-blocking ``Socket`` (System/Socket.swift) on which every call waits with `poll()` until
/// a deadline, so nothing here can hang. Not thread-safe; ``ClamdClient`` opens one per call and
/// ``ClamdSession`` guards its own with a lock.
final class ClamdConnection {
    /// The socket (System/Socket.swift: every call on it goes through the seam).
    let socket: Socket
    let endpoint: ClamdEndpoint
    /// Bytes received after the last NUL-terminated reply (none, unless clamd sends unasked).
    private var pending: [UInt8] = []
    /// Set when the peer closed the connection before sending a single byte of the last reply:
    /// on a reused session connection this means clamd dropped an idle session, and a retry on a
    /// new connection is safe.
    private(set) var closedBeforeReply = false

    /// The most a single reply may hold (STATS is the longest, a few KiB with many jobs).
    static let maximumReplyLength = 1 << 20

    private init(socket: Socket, endpoint: ClamdEndpoint) {
        self.socket = socket
        self.endpoint = endpoint
    }

    // MARK: Connecting

    /// Connects to `endpoint` before `deadline`.
    static func open(_ endpoint: ClamdEndpoint, deadline: ContinuousClock.Instant) throws(ClamdError) -> ClamdConnection {
        switch endpoint {
        case .unix(let path): return try openUnix(path: path, endpoint: endpoint, deadline: deadline)
        case .tcp(let host, let port): return try openTCP(host: host, port: port, endpoint: endpoint, deadline: deadline)
        }
    }

    private static func openUnix(path: String, endpoint: ClamdEndpoint, deadline: ContinuousClock.Instant)
        throws(ClamdError) -> ClamdConnection
    {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard !pathBytes.isEmpty, pathBytes.count < capacity, !pathBytes.contains(0) else {
            throw ClamdError(
                .invalidEndpoint,
                "clamd socket path \(path) is \(pathBytes.count) bytes; unix sockets allow 1 to \(capacity - 1): use a shorter path")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: pathBytes)
            raw[pathBytes.count] = 0
        }
        let socket: Socket
        do throws(SystemError) {
            socket = try Socket(domain: AF_UNIX, type: Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), peer: path)
        } catch {
            throw ClamdError(.io, "cannot create a socket for clamd at \(endpoint): \(error.errno)", cause: error.errno)
        }
        let connection = ClamdConnection(socket: socket, endpoint: endpoint)
        let length = socklen_t(MemoryLayout<sa_family_t>.size + pathBytes.count + 1)
        while true {
            guard case .failure(let failure) = connection.socket.connect(to: address, length: length) else { return connection }
            let code = failure.errno.rawValue
            switch code {
            case EAGAIN:
                // The listen backlog is full: clamd is not accepting. Retry until the deadline.
                if ContinuousClock.now >= deadline {
                    throw ClamdError(
                        .timedOut,
                        "clamd at \(endpoint) did not accept the connection before the deadline: its connection queue is full (clamd busy or hung; see MaxConnectionQueueLength)",
                        cause: Errno(code))
                }
                sleepSeconds(0.005)
            default:
                throw ClamdError.connecting(endpoint, errno: code)
            }
        }
    }

    private static func openTCP(host: String, port: UInt16, endpoint: ClamdEndpoint, deadline: ContinuousClock.Instant)
        throws(ClamdError) -> ClamdConnection
    {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else {
            let text = String(cString: gai_strerror(status))
            throw ClamdError(.io, "cannot resolve clamd host \(host) for \(endpoint): \(text): check the host name")
        }
        defer { freeaddrinfo(list) }
        var lastError: ClamdError?
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let current = entry {
            entry = current.pointee.ai_next
            guard let socket = try? Socket(
                domain: current.pointee.ai_family, type: current.pointee.ai_socktype | Int32(SOCK_NONBLOCK.rawValue),
                protocol: current.pointee.ai_protocol, peer: "\(host):\(port)")
            else { continue }
            let connection = ClamdConnection(socket: socket, endpoint: endpoint)
            guard case .failure(let failure) = connection.socket.connect(current.pointee.ai_addr, current.pointee.ai_addrlen)
            else { return connection }
            var code = failure.errno.rawValue
            if code == EINPROGRESS {
                do throws(ClamdError) {
                    guard try connection.wait(for: Int16(POLLOUT), until: deadline) else {
                        throw ClamdError(
                            .timedOut,
                            "connecting to clamd at \(endpoint) timed out: check the address, that clamd listens there (TCPSocket, TCPAddr) and any firewall")
                    }
                } catch {
                    lastError = error
                    continue
                }
                let socketError = (try? connection.socket.pendingError().get()) ?? 0
                if socketError == 0 { return connection }
                code = socketError
            }
            lastError = ClamdError.connecting(endpoint, errno: code)
        }
        throw lastError ?? ClamdError(.io, "cannot connect to clamd at \(endpoint): no usable address for \(host)")
    }

    // MARK: Waiting

    /// Waits until the socket is ready for `events` or the deadline passes; false on timeout.
    /// Hang-ups and errors count as ready: the call that follows reports them.
    func wait(for events: Int16, until deadline: ContinuousClock.Instant) throws(ClamdError) -> Bool {
        while true {
            if ContinuousClock.now.duration(to: deadline) <= .zero { return false }
            let result = socket.wait(for: events) {
                let (seconds, attoseconds) = ContinuousClock.now.duration(to: deadline).components
                let milliseconds = min(Int64(Int32.max), seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000)
                return Int32(max(1, milliseconds))
            }
            switch result {
            case .success(true): return true
            case .success(false): continue
            case .failure(let failure):
                throw ClamdError(.io, "waiting for clamd at \(endpoint) failed: \(failure.errno)", cause: failure.errno)
            }
        }
    }

    // MARK: Sending

    /// Sends all of `bytes` before the deadline (MSG_NOSIGNAL: a closed peer is an error, not SIGPIPE).
    func send(_ bytes: UnsafeRawBufferPointer, until deadline: ContinuousClock.Instant, during command: ClamdCommand,
              timeout: Duration) throws(ClamdError)
    {
        var offset = 0
        while offset < bytes.count {
            let result = socket.send(UnsafeRawBufferPointer(rebasing: bytes[offset...]), flags: Int32(MSG_NOSIGNAL))
            if case .success(let sent) = result {
                offset += sent
                continue
            }
            guard case .failure(let failure) = result else { continue }
            try waitOrThrow(failure, for: Int16(POLLOUT), until: deadline, during: command, received: [],
                timedOut: "clamd at \(endpoint) stopped reading \(command.rawValue) data for \(Self.seconds(timeout)): it may be hung or overloaded (check clamd's log, clamdtop)",
                failed: "sending \(command.rawValue) to clamd at \(endpoint) failed")
        }
    }

    func send(_ bytes: [UInt8], until deadline: ContinuousClock.Instant, during command: ClamdCommand,
              timeout: Duration) throws(ClamdError)
    {
        let result: Result<Void, ClamdError> = bytes.withUnsafeBytes { raw in
            Result { () throws(ClamdError) in try send(raw, until: deadline, during: command, timeout: timeout) }
        }
        try result.get()
    }

    /// Passes `descriptor` over the unix socket (SCM_RIGHTS) with a one-byte payload, as FILDES expects.
    func sendDescriptor(_ descriptor: Int32, until deadline: ContinuousClock.Instant, timeout: Duration) throws(ClamdError) {
        while true {
            guard case .failure(let failure) = socket.sendDescriptor(descriptor) else { return }
            try waitOrThrow(failure, for: Int16(POLLOUT), until: deadline, during: .fildes, received: [],
                timedOut: "clamd at \(endpoint) did not take the FILDES descriptor within \(Self.seconds(timeout)): it may be hung or overloaded",
                failed: "passing a file descriptor to clamd at \(endpoint) failed")
        }
    }

    // MARK: Receiving

    /// Reads one NUL-terminated reply before the deadline and returns its text (without the NUL).
    func receiveReply(until deadline: ContinuousClock.Instant, during command: ClamdCommand, timeout: Duration)
        throws(ClamdError) -> String
    {
        closedBeforeReply = false
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            if let end = pending.firstIndex(of: 0) {
                let reply = String(decoding: pending[..<end], as: UTF8.self)
                pending.removeSubrange(...end)
                return reply
            }
            if pending.count > Self.maximumReplyLength {
                throw ClamdError(
                    .malformedReply,
                    "clamd at \(endpoint) sent over \(Self.maximumReplyLength) bytes without ending its reply to \(command.rawValue): is this really clamd?")
            }
            let received = chunk.withUnsafeMutableBytes { socket.receive(into: $0) }
            if case .success(let count) = received {
                if count == 0 { throw closed(during: command, received: pending) }
                pending.append(contentsOf: chunk[..<count])
                continue
            }
            guard case .failure(let failure) = received else { continue }
            try waitOrThrow(failure, for: Int16(POLLIN), until: deadline, during: command, received: pending,
                timedOut: "clamd at \(endpoint) accepted the connection but did not answer \(command.rawValue) within \(Self.seconds(timeout)): it may be hung or overloaded (check clamd's log, clamdtop)",
                failed: "reading clamd's reply to \(command.rawValue) from \(endpoint) failed")
        }
    }

    /// The error for a connection the peer closed, with what it had sent of the reply.
    /// What a send or receive that failed with `failure` means: EAGAIN waits until the socket is
    /// ready for `events` (the `timedOut` message when the deadline passes first), a peer that
    /// reset or closed the connection is ``ErrorCode/connectionClosed`` (with what it had sent), and
    /// any other errno an I/O error (`failed: <errno text>`).
    private func waitOrThrow(_ failure: SystemError, for events: Int16, until deadline: ContinuousClock.Instant,
                             during command: ClamdCommand, received: [UInt8],
                             timedOut: @autoclosure () -> String, failed: @autoclosure () -> String) throws(ClamdError)
    {
        let code = failure.errno.rawValue
        switch code {
        case EAGAIN:
            guard try wait(for: events, until: deadline) else { throw ClamdError(.timedOut, timedOut()) }
        case EPIPE, ECONNRESET:  // recv never reports EPIPE; send reports both
            throw closed(during: command, received: received)
        default:
            throw ClamdError(.io, "\(failed()): \(Errno(code))", cause: Errno(code))
        }
    }

    private func closed(during command: ClamdCommand, received: [UInt8]) -> ClamdError {
        if received.isEmpty {
            closedBeforeReply = true
            return ClamdError(
                .connectionClosed,
                "clamd at \(endpoint) closed the connection without answering \(command.rawValue): check clamd's log (a crash, a restart, or a limit such as MaxConnectionQueueLength)")
        }
        let shown = String(decoding: received.prefix(80), as: UTF8.self)
        return ClamdError(
            .connectionClosed,
            "clamd at \(endpoint) closed the connection in the middle of its reply to \(command.rawValue) (\(received.count) bytes: \"\(shown)\"): check clamd's log for a crash or restart")
    }

    /// `0.5 s`, `2 s`.
    static func seconds(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        let milliseconds = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        if milliseconds % 1000 == 0 { return "\(milliseconds / 1000) s" }
        return "\(Double(milliseconds) / 1000) s"
    }
}
