#if canImport(Glibc)
import Glibc
#endif

/// A blocking clamd client: one connection per call, every call bounded by a deadline.
///
/// The value holds no connection and is `Sendable`: share it between threads freely. To scan many
/// files over one connection, open a ``ClamdSession`` with ``session()``.
///
/// Errors are ``ClamdError`` (unreachable, timed out, cut short, malformed); a scan that clamd
/// could not finish is a ``ScanVerdict/error(message:)``, never `.clean`.
public struct ClamdClient: Sendable {
    /// How long each part of a call may take.
    public struct Timeouts: Sendable, Hashable {
        /// Connecting (a unix socket connects at once unless clamd's queue is full).
        public var connect: Duration
        /// A whole PING, VERSION, STATS or RELOAD exchange after connecting.
        public var command: Duration
        /// A whole INSTREAM or FILDES scan after connecting (sending and clamd's scan).
        public var scan: Duration

        public init(connect: Duration = .seconds(2), command: Duration = .seconds(10), scan: Duration = .seconds(120)) {
            self.connect = connect
            self.command = command
            self.scan = scan
        }
    }

    public let endpoint: ClamdEndpoint
    public let timeouts: Timeouts
    /// Bytes per INSTREAM chunk.
    public let chunkSize: Int

    public init(endpoint: ClamdEndpoint, timeouts: Timeouts = Timeouts(), chunkSize: Int = 256 * 1024) {
        precondition(chunkSize > 0, "chunk size must be positive")
        self.endpoint = endpoint
        self.timeouts = timeouts
        self.chunkSize = chunkSize
    }

    // MARK: Commands

    /// PING: returns the round trip, connecting included. Throws unless clamd answers `PONG`.
    @discardableResult
    public func ping() throws(ClamdError) -> Duration {
        let start = ContinuousClock.now
        let reply = try exchange(.ping)
        guard ClamdReply.isPong(reply) else { throw endpoint.unexpected(reply, command: .ping, expected: "PONG") }
        return ContinuousClock.now - start
    }

    /// VERSION: the engine version and the loaded daily database's version and build time.
    /// `timeZone` is clamd's, for reading the date it prints (`.local` when clamd runs on this host).
    public func version(timeZone: ClamdVersion.TimeZone = .local) throws(ClamdError) -> ClamdVersion {
        let reply = try exchange(.version)
        guard let version = ClamdVersion(parsing: reply, timeZone: timeZone) else {
            throw endpoint.unexpected(reply, command: .version, expected: "\"ClamAV VERSION[/DAILY/DATE]\"")
        }
        return version
    }

    /// STATS: thread pool, queue and memory figures.
    public func stats() throws(ClamdError) -> ClamdStats {
        let reply = try exchange(.stats)
        guard let stats = ClamdStats(parsing: reply) else {
            throw endpoint.unexpected(reply, command: .stats, expected: "\"POOLS: …\"")
        }
        return stats
    }

    /// RELOAD: asks clamd to reload its databases (it answers `RELOADING` and reloads in the background).
    public func reload() throws(ClamdError) {
        let reply = try exchange(.reload)
        guard ClamdReply.isReloading(reply) else {
            throw endpoint.unexpected(reply, command: .reload, expected: "RELOADING")
        }
    }

    // MARK: Scanning

    /// INSTREAM: streams `bytes` to clamd and returns its verdict.
    public func scanInstream(bytes: [UInt8]) throws(ClamdError) -> ScanVerdict {
        try scan(.instream) { connection, deadline throws(ClamdError) in
            try connection.instream(.bytes(bytes), chunkSize: chunkSize, sessionID: nil, until: deadline, timeout: timeouts.scan)
        }
    }

    /// INSTREAM: streams the file open on `fileDescriptor`, from its start (`pread`; `read` for a pipe).
    public func scanInstream(fileDescriptor: Int32) throws(ClamdError) -> ScanVerdict {
        try scan(.instream) { connection, deadline throws(ClamdError) in
            try connection.instream(.descriptor(fileDescriptor), chunkSize: chunkSize, sessionID: nil, until: deadline,
                                    timeout: timeouts.scan)
        }
    }

    /// FILDES: passes `fileDescriptor` to clamd over its unix socket, so clamd reads the file itself.
    /// Throws ``ClamdError/Code/unsupported`` on a TCP endpoint.
    public func scanFildes(fileDescriptor: Int32) throws(ClamdError) -> ScanVerdict {
        guard endpoint.canPassFileDescriptors else { throw endpoint.fildesUnsupported() }
        return try scan(.fildes) { connection, deadline throws(ClamdError) in
            try connection.fildes(fileDescriptor, sessionID: nil, until: deadline, timeout: timeouts.scan)
        }
    }


    /// Opens a session (IDSESSION) that keeps one connection for many commands.
    public func session() throws(ClamdError) -> ClamdSession {
        try ClamdSession(client: self)
    }

    // MARK: Plumbing

    func connect() throws(ClamdError) -> ClamdConnection {
        try ClamdConnection.open(endpoint, deadline: ContinuousClock.now + timeouts.connect)
    }

    private func exchange(_ command: ClamdCommand) throws(ClamdError) -> String {
        let connection = try connect()
        return try connection.request(command, sessionID: nil, until: ContinuousClock.now + timeouts.command,
                                      timeout: timeouts.command)
    }

    private func scan(_ command: ClamdCommand,
                      _ body: (ClamdConnection, ContinuousClock.Instant) throws(ClamdError) -> String)
        throws(ClamdError) -> ScanVerdict
    {
        let connection = try connect()
        let reply = try body(connection, ContinuousClock.now + timeouts.scan)
        return try endpoint.verdict(reply, command: command)
    }


    static func openForScan(_ path: String) throws(ClamdError) -> Int32 {
        do { return try openRegularFile(path) } catch {
            throw ClamdError(.io, "cannot open \(PathEscaping.display(Array(path.utf8))) to scan: \(error)", cause: error)
        }
    }
}

/// What a client and a session both scan files with: INSTREAM and FILDES of an open file, and of
/// a file by path (opened as a regular file, closed after the scan).
public protocol ClamdFileScanning {
    var endpoint: ClamdEndpoint { get }
    /// INSTREAM: streams the file open at `fileDescriptor`.
    func scanInstream(fileDescriptor: Int32) throws(ClamdError) -> ScanVerdict
    /// FILDES: passes `fileDescriptor` to clamd over its unix socket.
    func scanFildes(fileDescriptor: Int32) throws(ClamdError) -> ScanVerdict
}

extension ClamdFileScanning {
    /// INSTREAM: opens the regular file at `path` and streams it.
    public func scanInstream(path: String) throws(ClamdError) -> ScanVerdict {
        let fd = try ClamdClient.openForScan(path)
        defer { _ = Sys.close(fd) }
        return try scanInstream(fileDescriptor: fd)
    }

    /// FILDES of the file at `path` (unix socket only: ``ErrorCode/unsupported`` on TCP, before
    /// the file is opened).
    public func scanFildes(path: String) throws(ClamdError) -> ScanVerdict {
        guard endpoint.canPassFileDescriptors else { throw endpoint.fildesUnsupported() }
        let fd = try ClamdClient.openForScan(path)
        defer { _ = Sys.close(fd) }
        return try scanFildes(fileDescriptor: fd)
    }
}

extension ClamdClient: ClamdFileScanning {}
