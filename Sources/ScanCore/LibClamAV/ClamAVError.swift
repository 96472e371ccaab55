/// An error from libclamav: initialising it, loading or compiling a database, setting a limit.
///
/// `message` carries libclamav's own words twice over: the `cl_strerror` text of the returned
/// `cl_error_t` and the detailed reason libclamav printed through its message callback (the line
/// number of a bad signature, the file that failed), which `cl_strerror` alone does not give.
public struct ClamAVError: Error, CustomStringConvertible, Sendable {
    /// What kind of failure this is. New codes may be added.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Value: Hashable, Sendable {
            case initialisation, malformedDatabase, databaseNotFound, noSignatures, compile, invalidLimit,
                memory, workerStart, other
        }
        fileprivate let value: Value
        /// `cl_init` or `cl_engine_new` failed.
        public static let initialisation = Code(value: .initialisation)
        /// A database file is corrupt or holds a bad signature line (`CL_EMALFDB`, `CL_ECVD`,
        /// `CL_EVERIFY`, and `CL_EARG` for a malformed hash).
        public static let malformedDatabase = Code(value: .malformedDatabase)
        /// The database path cannot be opened, or the directory holds no database file
        /// (`CL_EOPEN`, `CL_ESTAT`, `CL_EACCES`).
        public static let databaseNotFound = Code(value: .databaseNotFound)
        /// The directory loaded without error but holds no signatures.
        public static let noSignatures = Code(value: .noSignatures)
        /// `cl_engine_compile` failed.
        public static let compile = Code(value: .compile)
        /// A scan limit was rejected by `cl_engine_set_num`.
        public static let invalidLimit = Code(value: .invalidLimit)
        /// libclamav ran out of memory (`CL_EMEM`).
        public static let memory = Code(value: .memory)
        /// A ``ScanWorkerPool`` process could not be forked.
        public static let workerStart = Code(value: .workerStart)
        /// Any other libclamav error.
        public static let other = Code(value: .other)

        public var description: String {
            switch value {
            case .initialisation: "initialisation failed"
            case .malformedDatabase: "malformed database"
            case .databaseNotFound: "database not found"
            case .noSignatures: "no signatures"
            case .compile: "compile failed"
            case .invalidLimit: "invalid limit"
            case .memory: "out of memory"
            case .workerStart: "scanning process not started"
            case .other: "libclamav error"
            }
        }
    }

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

    public var description: String { message }
}
