/// An error from reading signature databases: a CVD/CLD header, a database directory, or an
/// ignore list.
///
/// `description` is one line naming the file and what is wrong with it.
public struct SignatureDatabaseError: Error, CustomStringConvertible, Sendable {
    /// What kind of failure this is. New codes may be added.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Value: Hashable, Sendable {
            case truncatedHeader, notAHeader, malformedHeader, directoryUnreadable, fileUnreadable,
                invalidSignatureName
        }
        fileprivate let value: Value
        /// The file is shorter than the 512-byte CVD/CLD header.
        public static let truncatedHeader = Code(value: .truncatedHeader)
        /// The header does not start with `ClamAV-VDB:`: not a ClamAV database container.
        public static let notAHeader = Code(value: .notAHeader)
        /// The header starts with `ClamAV-VDB:` but a field is missing or not of its type.
        public static let malformedHeader = Code(value: .malformedHeader)
        /// The database directory cannot be opened or read.
        public static let directoryUnreadable = Code(value: .directoryUnreadable)
        /// A database file cannot be opened or read.
        public static let fileUnreadable = Code(value: .fileUnreadable)
        /// A signature name cannot be written to an ignore list (empty, or with `:`, spaces or
        /// control characters).
        public static let invalidSignatureName = Code(value: .invalidSignatureName)

        public var description: String {
            switch value {
            case .truncatedHeader: "truncated header"
            case .notAHeader: "not a database header"
            case .malformedHeader: "malformed header"
            case .directoryUnreadable: "directory unreadable"
            case .fileUnreadable: "file unreadable"
            case .invalidSignatureName: "invalid signature name"
            }
        }
    }

    public let code: Code
    /// What went wrong, naming the file or field, and what to do.
    public let message: String
    /// The file or directory involved, if any.
    public let path: String?
    /// The underlying error (an `Errno`), if any.
    public let cause: (any Error & Sendable)?

    public init(_ code: Code, _ message: String, path: String? = nil, cause: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.path = path
        self.cause = cause
    }

    public var description: String { message }

    /// The same error with `path` named in front of the message (`main.cvd: …`).
    func at(_ path: String) -> SignatureDatabaseError {
        SignatureDatabaseError(code, "\(path): \(message)", path: path, cause: cause)
    }

    static func io(_ code: Code, _ what: String, _ path: String, errno value: Int32) -> SignatureDatabaseError {
        SignatureDatabaseError(
            code, "cannot \(what) \(path): \(errnoText(value))", path: path,
            cause: Errno(value))
    }
}
