#if canImport(Glibc)
import Glibc
#endif
import CScanSupport

/// One connection to clamd: a non-blocking socket on which every call waits with `poll()` until
/// a deadline, so nothing here can hang. Not thread-safe; ``ClamdClient`` opens one per call and
/// ``ClamdSession`` guards its own with a lock.
final class ClamdConnection {
    let fd: Int32
    let endpoint: ClamdEndpoint
    /// Bytes received after the last NUL-terminated reply (none, unless clamd sends unasked).
    private var pending: [UInt8] = []
    /// Set when the peer closed the connection before sending a single byte of the last reply:
    /// on a reused session connection this means clamd dropped an idle session, and a retry on a
    /// new connection is safe.
    private(set) var closedBeforeReply = false

    /// The most a single reply may hold (STATS is the longest, a few KiB with many jobs).
    static let maximumReplyLength = 1 << 20

    private init(fd: Int32, endpoint: ClamdEndpoint) {
        self.fd = fd
        self.endpoint = endpoint
    }

    deinit { Glibc.close(fd) }

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
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw ClamdError(.io, "cannot create a socket for clamd at \(endpoint): \(Errno(errno))", cause: Errno(errno)) }
        let connection = ClamdConnection(fd: fd, endpoint: endpoint)
        let length = socklen_t(MemoryLayout<sa_family_t>.size + pathBytes.count + 1)
        while true {
            let result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, length) }
            }
            if result == 0 { return connection }
            let code = errno
            switch code {
            case EINTR:
                continue
            case EAGAIN:
                // The listen backlog is full: clamd is not accepting. Retry until the deadline.
                if ContinuousClock.now >= deadline {
                    throw ClamdError(
                        .timedOut,
                        "clamd at \(endpoint) did not accept the connection before the deadline: its connection queue is full (clamd busy or hung; see MaxConnectionQueueLength)",
                        cause: Errno(code))
                }
                usleep(5_000)
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
            let fd = socket(
                current.pointee.ai_family,
                current.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue),
                current.pointee.ai_protocol)
            guard fd >= 0 else { continue }
            let connection = ClamdConnection(fd: fd, endpoint: endpoint)
            var result = Glibc.connect(fd, current.pointee.ai_addr, current.pointee.ai_addrlen)
            while result != 0 && errno == EINTR {
                result = Glibc.connect(fd, current.pointee.ai_addr, current.pointee.ai_addrlen)
            }
            if result == 0 { return connection }
            var code = errno
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
                var socketError: Int32 = 0
                var size = socklen_t(MemoryLayout<Int32>.size)
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &socketError, &size)
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
            let remaining = ContinuousClock.now.duration(to: deadline)
            if remaining <= .zero { return false }
            let (seconds, attoseconds) = remaining.components
            let milliseconds = min(Int64(Int32.max), seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000)
            var descriptor = pollfd(fd: fd, events: events, revents: 0)
            let result = poll(&descriptor, 1, Int32(max(1, milliseconds)))
            if result > 0 { return true }
            if result < 0 && errno != EINTR {
                throw ClamdError(.io, "waiting for clamd at \(endpoint) failed: \(Errno(errno))", cause: Errno(errno))
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
            let sent = Glibc.send(fd, bytes.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            if sent >= 0 {
                offset += sent
                continue
            }
            let code = errno
            switch code {
            case EINTR:
                continue
            case EAGAIN:
                guard try wait(for: Int16(POLLOUT), until: deadline) else {
                    throw ClamdError(
                        .timedOut,
                        "clamd at \(endpoint) stopped reading \(command.rawValue) data for \(Self.seconds(timeout)): it may be hung or overloaded (check clamd's log, clamdtop)")
                }
            case EPIPE, ECONNRESET:
                throw closed(during: command, received: [])
            default:
                throw ClamdError(.io, "sending \(command.rawValue) to clamd at \(endpoint) failed: \(Errno(code))", cause: Errno(code))
            }
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
        var payload: UInt8 = 0
        while true {
            let sent = vs_send_fd(fd, descriptor, &payload, 1)
            if sent >= 0 { return }
            let code = errno
            switch code {
            case EINTR:
                continue
            case EAGAIN:
                guard try wait(for: Int16(POLLOUT), until: deadline) else {
                    throw ClamdError(
                        .timedOut,
                        "clamd at \(endpoint) did not take the FILDES descriptor within \(Self.seconds(timeout)): it may be hung or overloaded")
                }
            case EPIPE, ECONNRESET:
                throw closed(during: .fildes, received: [])
            default:
                throw ClamdError(.io, "passing a file descriptor to clamd at \(endpoint) failed: \(Errno(code))", cause: Errno(code))
            }
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
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count > 0 {
                pending.append(contentsOf: chunk[..<count])
                continue
            }
            if count == 0 { throw closed(during: command, received: pending) }
            let code = errno
            switch code {
            case EINTR:
                continue
            case EAGAIN:
                guard try wait(for: Int16(POLLIN), until: deadline) else {
                    throw ClamdError(
                        .timedOut,
                        "clamd at \(endpoint) accepted the connection but did not answer \(command.rawValue) within \(Self.seconds(timeout)): it may be hung or overloaded (check clamd's log, clamdtop)")
                }
            case ECONNRESET:
                throw closed(during: command, received: pending)
            default:
                throw ClamdError(.io, "reading clamd's reply to \(command.rawValue) from \(endpoint) failed: \(Errno(code))", cause: Errno(code))
            }
        }
    }

    /// The error for a connection the peer closed, with what it had sent of the reply.
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
