#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Several commands over one connection to clamd (IDSESSION … END): saves a connect per file when
/// draining a backlog.
///
/// Requests are numbered and answered in order, one at a time: calls from several threads are
/// serialised by a lock, so for parallel scanning give each thread its own session.
///
/// A failed command (an error, a timeout, or an `… ERROR` verdict, after which clamd may end the
/// session) drops the connection, and the next command opens a new one. If clamd closed an idle
/// session (its IdleTimeout) before a command got any reply, the command is retried once on a
/// new connection; scanning is idempotent.
public final class ClamdSession: Sendable, ClamdFileScanning {
    public let client: ClamdClient
    public var endpoint: ClamdEndpoint { client.endpoint }

    private struct State {
        var connection: ClamdConnection?
        var nextID = 1
        var closed = false
    }

    private let state: Mutex<State>

    /// Connects and starts the session, so an unreachable clamd is reported at once.
    init(client: ClamdClient) throws(ClamdError) {
        self.client = client
        let connection = try Self.start(client)
        state = Mutex(State(connection: connection))
    }

    deinit { close() }

    /// Ends the session (END) and closes the connection. Later calls throw.
    public func close() {
        state.withLock { state in
            if let connection = state.connection {
                try? connection.send(ClamdCommand.end.encoded, until: ContinuousClock.now + .milliseconds(200),
                                     during: .end, timeout: .milliseconds(200))
            }
            state.connection = nil
            state.closed = true
        }
    }

    // MARK: Commands

    /// PING inside the session; returns the round trip.
    @discardableResult
    public func ping() throws(ClamdError) -> Duration {
        let start = ContinuousClock.now
        let reply = try perform(.ping, timeout: client.timeouts.command) { connection, id, deadline throws(ClamdError) in
            try connection.request(.ping, sessionID: id, until: deadline, timeout: client.timeouts.command)
        }
        guard ClamdReply.isPong(reply) else { throw endpoint.unexpected(reply, command: .ping, expected: "PONG") }
        return ContinuousClock.now - start
    }

    /// STATS inside the session.
    public func stats() throws(ClamdError) -> ClamdStats {
        let reply = try perform(.stats, timeout: client.timeouts.command) { connection, id, deadline throws(ClamdError) in
            try connection.request(.stats, sessionID: id, until: deadline, timeout: client.timeouts.command)
        }
        guard let stats = ClamdStats(parsing: reply) else {
            throw endpoint.unexpected(reply, command: .stats, expected: "\"POOLS: …\"")
        }
        return stats
    }

    /// INSTREAM of `bytes` inside the session.
    public func scanInstream(bytes: [UInt8]) throws(ClamdError) -> ScanVerdict {
        try scan(.instream) { connection, id, deadline throws(ClamdError) in
            try connection.instream(.bytes(bytes), chunkSize: client.chunkSize, sessionID: id, until: deadline,
                                    timeout: client.timeouts.scan)
        }
    }

    /// INSTREAM of the file open on `fileDescriptor` (from its start) inside the session.
    public func scanInstream(fileDescriptor: Int32) throws(ClamdError) -> ScanVerdict {
        try scan(.instream) { connection, id, deadline throws(ClamdError) in
            try connection.instream(.descriptor(fileDescriptor), chunkSize: client.chunkSize, sessionID: id,
                                    until: deadline, timeout: client.timeouts.scan)
        }
    }

    /// FILDES of `fileDescriptor` inside the session (unix socket only).
    public func scanFildes(fileDescriptor: Int32) throws(ClamdError) -> ScanVerdict {
        guard endpoint.canPassFileDescriptors else { throw endpoint.fildesUnsupported() }
        return try scan(.fildes) { connection, id, deadline throws(ClamdError) in
            try connection.fildes(fileDescriptor, sessionID: id, until: deadline, timeout: client.timeouts.scan)
        }
    }

    // MARK: Plumbing

    private static func start(_ client: ClamdClient) throws(ClamdError) -> ClamdConnection {
        let connection = try client.connect()
        try connection.send(ClamdCommand.idSession.encoded, until: ContinuousClock.now + client.timeouts.command,
                            during: .idSession, timeout: client.timeouts.command)
        return connection
    }

    private func scan(_ command: ClamdCommand,
                      _ body: (ClamdConnection, Int, ContinuousClock.Instant) throws(ClamdError) -> String)
        throws(ClamdError) -> ScanVerdict
    {
        let reply = try perform(command, timeout: client.timeouts.scan, dropAfter: { $0.hasSuffix(" ERROR") }, body)
        return try endpoint.verdict(reply, command: command)
    }

    /// Runs one numbered request on the session's connection (opening one if needed) and returns
    /// the reply without its number.
    private func perform(_ command: ClamdCommand, timeout: Duration, dropAfter: (String) -> Bool = { _ in false },
                         _ body: (ClamdConnection, Int, ContinuousClock.Instant) throws(ClamdError) -> String)
        throws(ClamdError) -> String
    {
        try state.withLock { (state: inout State) throws(ClamdError) -> String in
            precondition(!state.closed, "ClamdSession used after close()")
            var attempt = 0
            while true {
                attempt += 1
                let connection: ClamdConnection
                let reused: Bool
                if let existing = state.connection {
                    connection = existing
                    reused = true
                } else {
                    connection = try Self.start(client)
                    state.connection = connection
                    state.nextID = 1
                    reused = false
                }
                let id = state.nextID
                state.nextID += 1
                do throws(ClamdError) {
                    let reply = try body(connection, id, ContinuousClock.now + timeout)
                    if dropAfter(reply) { state.connection = nil }
                    return reply
                } catch {
                    state.connection = nil
                    if reused && connection.closedBeforeReply && attempt == 1 { continue }
                    throw error
                }
            }
        }
    }
}
