/// The code of a subsystem's error: one of a fixed set per subsystem, named by the text logs show.
///
/// Every code is declared in `ErrorCodes.swift`, one line each
/// (`public static var io: Self { Self("I/O error") }`), so new codes can be added without
/// breaking a caller's `switch` (there is always a `default`), as swift-nio's error codes are.
public struct ErrorCode<Domain>: Hashable, Sendable, CustomStringConvertible {
    public let description: String

    /// A code named `description`; the name is unique within its domain.
    public init(_ description: String) { self.description = description }
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
