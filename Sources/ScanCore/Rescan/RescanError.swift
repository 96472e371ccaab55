/// An error from `rescan-clean`: what stopped it from starting or continuing, and what to do.
///
/// `description` is one line; `detailedDescription` adds the cause and where it was raised.
public struct RescanError: Error, CustomStringConvertible, Sendable {
    /// What kind of failure this is. New codes may be added.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Value: Hashable, Sendable {
            case lockHeld, lockUnavailable, treeMissing, stateUnwritable, stateInvalid, engineUnavailable, io
        }
        fileprivate let value: Value
        /// Another rescan holds the lock: nothing was touched.
        public static let lockHeld = Code(value: .lockHeld)
        /// The lock file could not be created or opened.
        public static let lockUnavailable = Code(value: .lockUnavailable)
        /// A clean tree (or its infected tree's parent) does not exist or cannot be opened.
        public static let treeMissing = Code(value: .treeMissing)
        /// The state file cannot be written (its directory is missing or read-only).
        public static let stateUnwritable = Code(value: .stateUnwritable)
        /// The state file does not parse or does not describe these trees (an unknown format,
        /// negative or impossible counters, a checkpoint that is no path of its tree): not trusted.
        public static let stateInvalid = Code(value: .stateInvalid)
        /// No scanning engine could be set up, or its database version could not be read.
        public static let engineUnavailable = Code(value: .engineUnavailable)
        /// Any other file-system failure.
        public static let io = Code(value: .io)

        public var description: String {
            switch value {
            case .lockHeld: "lock held"
            case .lockUnavailable: "lock unavailable"
            case .treeMissing: "tree missing"
            case .stateUnwritable: "state unwritable"
            case .stateInvalid: "state invalid"
            case .engineUnavailable: "engine unavailable"
            case .io: "I/O error"
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
