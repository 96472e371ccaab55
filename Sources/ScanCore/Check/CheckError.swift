/// An error of the check itself: bad arguments, bad ranges, the watchdog, a mode that cannot run.
///
/// `description` is one line, printed after `VIRUS_SCAN UNKNOWN - `.
public struct CheckError: Error, CustomStringConvertible, Sendable {
    /// What kind of failure this is. New codes may be added.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Value: Hashable, Sendable { case invalidArgument, invalidRange, invalidDuration, timeout, unavailable }
        fileprivate let value: Value
        /// A command-line value that does not parse or does not make sense.
        public static let invalidArgument = Code(value: .invalidArgument)
        /// A threshold range that is not Monitoring Plugins range syntax.
        public static let invalidRange = Code(value: .invalidRange)
        /// A duration (`90s`, `10m`, `2h`, `1d`) that does not parse.
        public static let invalidDuration = Code(value: .invalidDuration)
        /// The plugin's own time limit ran out.
        public static let timeout = Code(value: .timeout)
        /// Something the mode needs is not there (a state file, a database).
        public static let unavailable = Code(value: .unavailable)

        public var description: String {
            switch value {
            case .invalidArgument: "invalid argument"
            case .invalidRange: "invalid range"
            case .invalidDuration: "invalid duration"
            case .timeout: "timeout"
            case .unavailable: "unavailable"
            }
        }
    }

    public let code: Code
    /// What happened and how to fix it, one line.
    public let message: String
    /// The underlying error, if any.
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
