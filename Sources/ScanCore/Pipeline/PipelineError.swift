#if canImport(Glibc)
import Glibc
#endif

/// An error from looking at the pipeline on disk or from reading its configuration.
///
/// `description` is one line naming the path and what to do, fit for a Nagios status line.
/// Its codes: the shared ``ErrorCode/io``, and its own (all in `ErrorCodes.swift`).
public struct PipelineError: ScanCoreError {
    /// What kind of failure this is (``ErrorCode``, listed in `ErrorCodes.swift`: new codes may be added).
    public typealias Code = ErrorCode<PipelineError>

    public let code: Code
    /// What happened and how to fix it.
    public let message: String
    /// The path involved, escaped for display, if any.
    public let path: String?
    /// The errno reported by the system call, if any.
    public let errno: Int32?

    public init(_ code: Code, _ message: String, path: String? = nil, errno: Int32? = nil) {
        self.code = code
        self.message = message
        self.path = path
        self.errno = errno
    }

    /// The C library's text for an errno (`strerror`).
    public static func errnoText(_ value: Int32) -> String {
        strerrorText(value)
    }

    /// Maps the failure to open a queue directory to the right code and message.
    static func openingQueue(_ path: String, errno value: Int32) -> PipelineError {
        let shown = PathEscaping.display(Array(path.utf8))
        switch value {
        case ENOENT:
            return PipelineError(.queueMissing, "queue directory \(shown) does not exist", path: shown, errno: value)
        case ENOTDIR:
            return PipelineError(.notADirectory, "queue path \(shown) is not a directory", path: shown, errno: value)
        default:
            return PipelineError(
                .queueUnreadable, "cannot open queue directory \(shown): \(errnoText(value)) (errno \(value))",
                path: shown, errno: value)
        }
    }
}
