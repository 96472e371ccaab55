/// An error from reading signature databases: a CVD/CLD header, a database directory, or an
/// ignore list.
///
/// `description` is one line naming the file and what is wrong with it.
public struct SignatureDatabaseError: ScanCoreError {
    /// What kind of failure this is (``ErrorCode``: new codes may be added).
    public typealias Code = ErrorCode<SignatureDatabaseError>

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

extension ErrorCode where Domain == SignatureDatabaseError {
    /// The file is shorter than the 512-byte CVD/CLD header.
    public static var truncatedHeader: Self { Self("truncated header") }
    /// The header does not start with `ClamAV-VDB:`: not a ClamAV database container.
    public static var notAHeader: Self { Self("not a database header") }
    /// The header starts with `ClamAV-VDB:` but a field is missing or not of its type.
    public static var malformedHeader: Self { Self("malformed header") }
    /// The database directory cannot be opened or read.
    public static var directoryUnreadable: Self { Self("directory unreadable") }
    /// A database file cannot be opened or read.
    public static var fileUnreadable: Self { Self("file unreadable") }
    /// A signature name cannot be written to an ignore list (empty, or with `:`, spaces or
    /// control characters).
    public static var invalidSignatureName: Self { Self("invalid signature name") }
}
