/// An error from libclamav: initialising it, loading or compiling a database, setting a limit.
///
/// `message` carries libclamav's own words twice over: the `cl_strerror` text of the returned
/// `cl_error_t` and the detailed reason libclamav printed through its message callback (the line
/// number of a bad signature, the file that failed), which `cl_strerror` alone does not give.
public struct ClamAVError: ScanCoreError {
    /// What kind of failure this is (``ErrorCode``: new codes may be added).
    public typealias Code = ErrorCode<ClamAVError>

    public let code: Code
    /// What went wrong, in libclamav's words, and what was being done.
    public let message: String
    /// The `cl_strerror` text of the `cl_error_t` libclamav returned, if it returned one.
    public let libclamavError: String?
    /// The errors and warnings libclamav printed while the call ran, in order, without the
    /// `LibClamAV Error:` prefix.
    public let libclamavMessages: [String]

    public init(_ code: Code, _ message: String, libclamavError: String? = nil, libclamavMessages: [String] = []) {
        self.code = code
        self.message = message
        self.libclamavError = libclamavError
        self.libclamavMessages = libclamavMessages
    }
}

extension ErrorCode where Domain == ClamAVError {
    /// `cl_init` or `cl_engine_new` failed.
    public static var initialisation: Self { Self("initialisation failed") }
    /// A database file is corrupt or holds a bad signature line (`CL_EMALFDB`, `CL_ECVD`,
    /// `CL_EVERIFY`, and `CL_EARG` for a malformed hash).
    public static var malformedDatabase: Self { Self("malformed database") }
    /// The database path cannot be opened, or the directory holds no database file
    /// (`CL_EOPEN`, `CL_ESTAT`, `CL_EACCES`).
    public static var databaseNotFound: Self { Self("database not found") }
    /// The directory loaded without error but holds no signatures.
    public static var noSignatures: Self { Self("no signatures") }
    /// `cl_engine_compile` failed.
    public static var compile: Self { Self("compile failed") }
    /// A scan limit was rejected by `cl_engine_set_num`.
    public static var invalidLimit: Self { Self("invalid limit") }
    /// libclamav ran out of memory (`CL_EMEM`).
    public static var memory: Self { Self("out of memory") }
    /// A ``ScanWorkerPool`` process could not be forked.
    public static var workerStart: Self { Self("scanning process not started") }
    /// Any other libclamav error.
    public static var other: Self { Self("libclamav error") }
}
