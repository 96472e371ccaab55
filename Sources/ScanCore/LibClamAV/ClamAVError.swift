/// An error from libclamav: initialising it, loading or compiling a database, setting a limit.
///
/// `message` carries libclamav's own words twice over: the `cl_strerror` text of the returned
/// `cl_error_t` and the detailed reason libclamav printed through its message callback (the line
/// number of a bad signature, the file that failed), which `cl_strerror` alone does not give.
public struct ClamAVError: ScanCoreError {
    /// What kind of failure this is (``ErrorCode``, listed in `ErrorCodes.swift`: new codes may be added).
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
