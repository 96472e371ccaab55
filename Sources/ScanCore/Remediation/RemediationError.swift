/// An error from a remediation command (`drain`, `scan`, `db-info`, `clamd-status`,
/// `restart-clamd`, `ignore-signature`): what happened and what to do about it.
///
/// `description` is one line; `detailedDescription` adds the cause and where it was raised.
public struct RemediationError: Error, CustomStringConvertible, Sendable {
    /// What kind of failure this is. New codes may be added.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Value: Hashable, Sendable {
            case lockHeld, lockUnavailable, engineUnavailable, io, invalidArgument, clamdNotBack, commandFailed
        }
        fileprivate let value: Value
        /// Another process holds the queue's lock: nothing was touched.
        public static let lockHeld = Code(value: .lockHeld)
        /// The lock file could not be created or opened.
        public static let lockUnavailable = Code(value: .lockUnavailable)
        /// No scanning engine could be set up (clamd unreachable and libclamav failed to load).
        public static let engineUnavailable = Code(value: .engineUnavailable)
        /// A file-system call failed (queue root, list file, journal, ignore list).
        public static let io = Code(value: .io)
        /// An argument is invalid (a malformed signature name, `--owner` that does not resolve).
        public static let invalidArgument = Code(value: .invalidArgument)
        /// clamd did not answer PING again before the deadline.
        public static let clamdNotBack = Code(value: .clamdNotBack)
        /// A child command could not be started.
        public static let commandFailed = Code(value: .commandFailed)

        public var description: String {
            switch value {
            case .lockHeld: "lock held"
            case .lockUnavailable: "lock unavailable"
            case .engineUnavailable: "engine unavailable"
            case .io: "I/O error"
            case .invalidArgument: "invalid argument"
            case .clamdNotBack: "clamd not back"
            case .commandFailed: "command failed"
            }
        }
    }

    public let code: Code
    /// What happened and how to fix it.
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

    public var description: String { message }

    public var detailedDescription: String {
        var text = "\(code): \(message)"
        if let cause { text += "\ncaused by: \(cause)" }
        text += "\nat \(file):\(line)"
        return text
    }

    /// The C library's text for an errno value.
    static func text(_ errno: Int32) -> String { errnoText(errno) }
}
