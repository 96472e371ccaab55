/// The code of a subsystem's error: one of a fixed set per subsystem, named by the text logs show.
///
/// The codes several subsystems share are declared once below; each subsystem declares its own in a
/// constrained extension, one line each
/// (`public static var io: Self { Self("I/O error") }`), so new codes can be added without
/// breaking a caller's `switch` (there is always a `default`), as swift-nio's error codes are.
public struct ErrorCode<Domain>: Hashable, Sendable, CustomStringConvertible {
    public let description: String

    /// A code named `description`; the name is unique within its domain.
    public init(_ description: String) { self.description = description }
}

/// The codes more than one subsystem raises, defined once for every domain; a subsystem's own
/// codes stand in its error file (``ClamdError``, ``PipelineError``, …).
extension ErrorCode {
    /// A file-system or socket call failed (the cause is the ``Errno``).
    public static var io: Self { Self("I/O error") }
    /// An argument is invalid: a command-line value that does not parse or make sense, a
    /// malformed signature name, an `--owner` that does not resolve.
    public static var invalidArgument: Self { Self("invalid argument") }
    /// A time limit ran out: the plugin's own, or a DNS answer that did not come.
    public static var timeout: Self { Self("timeout") }
    /// A child command could not be started.
    public static var commandFailed: Self { Self("command failed") }
    /// No scanning engine could be set up (clamd unreachable and libclamav failed to load), or
    /// its database version could not be read.
    public static var engineUnavailable: Self { Self("engine unavailable") }
    /// Another process holds the lock (of a queue, of the rescan): nothing was touched.
    public static var lockHeld: Self { Self("lock held") }
    /// The lock file could not be created or opened.
    public static var lockUnavailable: Self { Self("lock unavailable") }
}

/// What every error type of ScanCore offers (one type per subsystem): a code, a one-line message
/// fit for a Nagios status line, maybe the underlying error, maybe where it was raised.
public protocol ScanCoreError: Error, CustomStringConvertible, Sendable {
    associatedtype Domain
    var code: ErrorCode<Domain> { get }
    /// What happened and how to fix it, one line.
    var message: String { get }
    /// The underlying error (an ``Errno``, a lower subsystem's error), if any.
    var cause: (any Error & Sendable)? { get }
    /// Where it was raised (`#fileID`, `#line`), when recorded.
    var origin: (file: String, line: Int)? { get }
}

extension ScanCoreError {
    public var description: String { message }
    public var cause: (any Error & Sendable)? { nil }
    public var origin: (file: String, line: Int)? { nil }

    /// A multi-line form for logs: the message, the code, the cause and where it was raised.
    public var detailedDescription: String {
        var lines = ["\(message)", "  code: \(code)"]
        if let cause { lines.append("  cause: \(cause)") }
        if let origin { lines.append("  at: \(origin.file):\(origin.line)") }
        return lines.joined(separator: "\n")
    }
}

/// The error of a subsystem that records its cause and where it was raised: ``CheckError``,
/// ``ClamdError``, ``RemediationError`` and ``RescanError`` are this type, each for its own
/// domain (so `catch let error as ClamdError` catches clamd's errors only).
public struct SubsystemError<Domain>: ScanCoreError {
    public typealias Code = ErrorCode<Domain>

    public let code: Code
    public let message: String
    public let cause: (any Error & Sendable)?
    public let file: String
    public let line: Int

    public init(_ code: Code, _ message: String, cause: (any Error & Sendable)? = nil,
                file: String = #fileID, line: Int = #line) {
        self.code = code
        self.message = message
        self.cause = cause
        self.file = file
        self.line = line
    }

    public var origin: (file: String, line: Int)? { (file, line) }
}
