// Sockets through the seam: the adapters for socket, connect, send, recv, poll, getsockopt and
// sendmsg (SCM_RIGHTS), and `Socket`, an owning descriptor (closed when it goes away). The
// callers (the clamd connection, the DNS TXT client) keep their own loops and messages; what they
// get from here is errno as data, EINTR retried, and a failure a debug-build test can inject.
//
// Fault scoping: calls on a socket carry its peer as their path (a unix socket's path, or
// `host:port`), so `SystemFaults.inject(.connect, errno: ECONNREFUSED, under: tree.root)` fails
// the connections to sockets under a test's temp dir only. `socket` itself has no path: scope it
// with `SystemFaults.inTask`.
#if canImport(Glibc)
import Glibc
#endif
import CScanSupport

extension Sys {
    static func socket(_ domain: Int32, _ type: Int32, _ proto: Int32) -> Result<Int32, SystemError> {
        retrying(.socket, nil) { Glibc.socket(domain, type, proto) }
    }

    /// connect(2). EINTR is retried as the callers always did (on a non-blocking socket the retry
    /// reports EINPROGRESS/EALREADY or the result).
    static func connect(_ fd: Int32, _ address: UnsafePointer<sockaddr>, _ length: socklen_t, path: String?) -> Result<Void, SystemError> {
        retrying(.connect, path) { Glibc.connect(fd, address, length) }.map { _ in () }
    }

    static func send(_ fd: Int32, _ buffer: UnsafeRawPointer?, _ count: Int, _ flags: Int32, path: String?) -> Result<Int, SystemError> {
        retrying(.send, path) { Glibc.send(fd, buffer, count, flags) }
    }

    static func recv(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int, _ flags: Int32, path: String?) -> Result<Int, SystemError> {
        retrying(.recv, path) { Glibc.recv(fd, buffer, count, flags) }
    }

    /// poll(2) on the first `count` of `fds` (all by default). On EINTR it is called again with a
    /// fresh `timeout()` (the milliseconds left, as the caller reckons them); with
    /// `retryingEINTR: false` an interrupted poll returns 0 (nothing ready) at once, for a loop
    /// that must look at a stop flag a signal handler set.
    static func poll(_ fds: inout [pollfd], count: Int? = nil, path: String?, retryingEINTR: Bool = true,
                     timeout: () -> Int32) -> Result<Int32, SystemError> {
        let n = nfds_t(count ?? fds.count)
        return fds.withUnsafeMutableBufferPointer { buffer in
            if retryingEINTR { return retrying(.poll, path) { Glibc.poll(buffer.baseAddress, n, timeout()) } }
            let result = retrying(.poll, path) { () -> Int32 in
                let ready = Glibc.poll(buffer.baseAddress, n, timeout())
                return ready < 0 && Glibc.errno == EINTR ? 0 : ready
            }
            if case .failure(let failure) = result, failure.errno.rawValue == EINTR { return .success(0) }
            return result
        }
    }

    /// getsockopt(SOL_SOCKET, SO_ERROR): the pending error of a socket (0: none).
    static func socketError(_ fd: Int32, path: String?) -> Result<Int32, SystemError> {
        var value: Int32 = 0
        var size = socklen_t(MemoryLayout<Int32>.size)
        return retrying(.getsockopt, path) { getsockopt(fd, SOL_SOCKET, SO_ERROR, &value, &size) }.map { _ in value }
    }

    /// sendmsg(2) of `descriptor` (SCM_RIGHTS) with `count` payload bytes.
    static func sendDescriptor(_ fd: Int32, _ descriptor: Int32, _ payload: UnsafeRawPointer, _ count: Int, path: String?) -> Result<Int, SystemError> {
        retrying(.sendmsg, path) { vs_send_fd(fd, descriptor, payload, UInt(count)) }
    }
}

/// An open socket, closed when it goes away. `peer` names what it is connected (or connecting)
/// to, for messages and fault matching.
final class Socket {
    let fd: Int32
    let peer: String

    /// socket(2) with SOCK_CLOEXEC added to `type`.
    init(domain: Int32, type: Int32, protocol proto: Int32 = 0, peer: String) throws(SystemError) {
        fd = try Sys.socket(domain, type | Int32(SOCK_CLOEXEC.rawValue), proto).get()
        self.peer = peer
    }

    deinit { _ = Sys.close(fd, path: peer) }

    func connect(_ address: UnsafePointer<sockaddr>, _ length: socklen_t) -> Result<Void, SystemError> {
        Sys.connect(fd, address, length, path: peer)
    }

    /// connect(2) to the address in `storage` (a sockaddr_un, sockaddr_in, sockaddr_storage…).
    func connect<Address>(to storage: Address, length: socklen_t) -> Result<Void, SystemError> {
        withUnsafeBytes(of: storage) { raw in
            connect(raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), length)
        }
    }

    /// One send(2): how many bytes went.
    func send(_ bytes: UnsafeRawBufferPointer, flags: Int32 = 0) -> Result<Int, SystemError> {
        Sys.send(fd, bytes.baseAddress, bytes.count, flags, path: peer)
    }

    /// One recv(2) into `buffer`: how many bytes came (0: the peer closed).
    func receive(into buffer: UnsafeMutableRawBufferPointer) -> Result<Int, SystemError> {
        Sys.recv(fd, buffer.baseAddress, buffer.count, 0, path: peer)
    }

    /// poll(2) for `events`: whether the socket became ready (false: `timeout()` ran out).
    func wait(for events: Int16, timeout: () -> Int32) -> Result<Bool, SystemError> {
        var descriptor = [pollfd(fd: fd, events: events, revents: 0)]
        return Sys.poll(&descriptor, path: peer, timeout: timeout).map { $0 > 0 }
    }

    /// The socket's pending error (SO_ERROR; 0 when the connect succeeded).
    func pendingError() -> Result<Int32, SystemError> { Sys.socketError(fd, path: peer) }

    /// Passes `descriptor` with a one-byte payload (SCM_RIGHTS).
    func sendDescriptor(_ descriptor: Int32) -> Result<Int, SystemError> {
        var payload: UInt8 = 0
        return Sys.sendDescriptor(fd, descriptor, &payload, 1, path: peer)
    }
}
