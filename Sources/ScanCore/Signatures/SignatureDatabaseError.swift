/// An error from reading signature databases: a CVD/CLD header, a database directory, or an
/// ignore list.
///
/// `description` is one line naming the file and what is wrong with it.
public struct SignatureDatabaseError: ScanCoreError {
    /// What kind of failure this is (``ErrorCode``, listed in `ErrorCodes.swift`: new codes may be added).
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
