#if canImport(Glibc)
import Glibc
#endif

/// An error from talking to clamd: the daemon could not be reached, did not answer in time,
/// or answered something that is not the clamd protocol.
///
/// A scan that clamd itself could not finish (a file over StreamMaxLength, an unreadable file) is
/// not an error of this type: it is ``ScanVerdict/error(message:)``.
///
/// `description` is one line naming the endpoint and what to do, fit for a Nagios status line.
public struct ClamdError: Error, CustomStringConvertible, Sendable {
    /// What kind of failure this is. New codes may be added.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Value: Hashable, Sendable {
            case invalidEndpoint, socketMissing, connectionRefused, permissionDenied, timedOut
            case connectionClosed, malformedReply, commandFailed, commandDisabled, unsupported, io
        }
        fileprivate let value: Value
        /// The endpoint text does not parse, or a unix socket path is too long.
        public static let invalidEndpoint = Code(value: .invalidEndpoint)
        /// The unix socket file does not exist: clamd is not running, or LocalSocket differs.
        public static let socketMissing = Code(value: .socketMissing)
        /// Nothing listens on the socket or port (a stale socket file, clamd stopped).
        public static let connectionRefused = Code(value: .connectionRefused)
        /// The socket exists but this user may not connect to it.
        public static let permissionDenied = Code(value: .permissionDenied)
        /// The deadline passed: connecting, or waiting for a daemon that accepted and never answered.
        public static let timedOut = Code(value: .timedOut)
        /// clamd closed the connection before its reply was complete (or without replying).
        public static let connectionClosed = Code(value: .connectionClosed)
        /// The reply is not what clamd sends for the command.
        public static let malformedReply = Code(value: .malformedReply)
        /// clamd answered the command with an error (`UNKNOWN COMMAND`, a session limit, …).
        public static let commandFailed = Code(value: .commandFailed)
        /// clamd answered `COMMAND UNAVAILABLE`: the operator disabled the command (ClamAV 1.5's
        /// `EnableStatsCommand no`, `EnableVersionCommand no`, `EnableReloadCommand no`). clamd is up.
        public static let commandDisabled = Code(value: .commandDisabled)
        /// The command cannot be used on this endpoint (FILDES over TCP).
        public static let unsupported = Code(value: .unsupported)
        /// Any other I/O failure (name resolution, a socket call, reading the file to stream).
        public static let io = Code(value: .io)

        public var description: String {
            switch value {
            case .invalidEndpoint: "invalid endpoint"
            case .socketMissing: "socket missing"
            case .connectionRefused: "connection refused"
            case .permissionDenied: "permission denied"
            case .timedOut: "timed out"
            case .connectionClosed: "connection closed"
            case .malformedReply: "malformed reply"
            case .commandFailed: "command failed"
            case .commandDisabled: "command disabled"
            case .unsupported: "unsupported"
            case .io: "I/O error"
            }
        }
    }

    public let code: Code
    /// What happened, naming the endpoint, and what to do about it. One line.
    public let message: String
    /// The underlying error (an ``Errno``), if any.
    public let cause: (any Error & Sendable)?
    public let file: String
    public let line: Int

    public init(
        _ code: Code, _ message: String, cause: (any Error & Sendable)? = nil, file: String = #fileID, line: Int = #line
    ) {
        self.code = code
        self.message = message
        self.cause = cause
        self.file = file
        self.line = line
    }

    public var description: String { message }

    /// A multi-line form for logs: the message, the code, the cause and where it was thrown.
    public var detailedDescription: String {
        var lines = ["\(message)", "  code: \(code)"]
        if let cause { lines.append("  cause: \(cause)") }
        lines.append("  at: \(file):\(line)")
        return lines.joined(separator: "\n")
    }
}

extension ClamdError {
    /// Maps a failed `connect()` to a code and a message saying what to check.
    static func connecting(_ endpoint: ClamdEndpoint, errno value: Int32, file: String = #fileID, line: Int = #line)
        -> ClamdError
    {
        let cause = Errno(value)
        switch (endpoint, value) {
        case (.unix(let path), ENOENT), (.unix(let path), ENOTDIR):
            return ClamdError(
                .socketMissing,
                "clamd socket \(path) does not exist: is clamd running, and is LocalSocket in clamd.conf this path?",
                cause: cause, file: file, line: line)
        case (.unix(let path), ECONNREFUSED):
            return ClamdError(
                .connectionRefused,
                "nothing is listening on clamd socket \(path) (a stale socket file?): start or restart clamd",
                cause: cause, file: file, line: line)
        case (.tcp, ECONNREFUSED):
            return ClamdError(
                .connectionRefused,
                "connection to clamd at \(endpoint) refused: is clamd running with TCPSocket/TCPAddr set to this address?",
                cause: cause, file: file, line: line)
        case (_, EACCES), (_, EPERM):
            return ClamdError(
                .permissionDenied,
                "permission denied connecting to clamd at \(endpoint): run as a user allowed on the socket (clamd.conf LocalSocketGroup/LocalSocketMode)",
                cause: cause, file: file, line: line)
        case (_, ETIMEDOUT):
            return ClamdError(
                .timedOut, "connecting to clamd at \(endpoint) timed out: check the address and any firewall",
                cause: cause, file: file, line: line)
        default:
            return ClamdError(
                .io, "cannot connect to clamd at \(endpoint): \(cause)", cause: cause, file: file, line: line)
        }
    }
}
