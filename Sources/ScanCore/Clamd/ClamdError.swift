#if canImport(Glibc)
import Glibc
#endif

/// An error from talking to clamd: the daemon could not be reached, did not answer in time,
/// or answered something that is not the clamd protocol.
///
/// A scan that clamd itself could not finish (a file over StreamMaxLength, an unreadable file) is
/// not an error of this type: it is ``ScanVerdict/error(message:)``.
///
/// `description` is one line naming the endpoint and what to do, fit for a Nagios status line.
/// Its codes: the shared ``ErrorCode/io`` (name resolution, a socket call, reading the file to
/// stream) and ``ErrorCode/commandFailed`` (clamd answered the command with an error), and its own (all in `ErrorCodes.swift`).
public typealias ClamdError = SubsystemError<ClamdErrorDomain>

/// The domain of ``ClamdError``.
public enum ClamdErrorDomain {}

extension ClamdError {
    /// Maps a failed `connect()` to a code and a message saying what to check.
    static func connecting(_ endpoint: ClamdEndpoint, errno value: Int32, file: String = #fileID, line: Int = #line)
        -> ClamdError
    {
        let cause = Errno(value)
        switch (endpoint, value) {
        case (.unix(let path), ENOENT), (.unix(let path), ENOTDIR):
            return ClamdError(
                .socketMissing,
                "clamd socket \(path) does not exist: is clamd running, and is LocalSocket in clamd.conf this path?",
                cause: cause, file: file, line: line)
        case (.unix(let path), ECONNREFUSED):
            return ClamdError(
                .connectionRefused,
                "nothing is listening on clamd socket \(path) (a stale socket file?): start or restart clamd",
                cause: cause, file: file, line: line)
        case (.tcp, ECONNREFUSED):
            return ClamdError(
                .connectionRefused,
                "connection to clamd at \(endpoint) refused: is clamd running with TCPSocket/TCPAddr set to this address?",
                cause: cause, file: file, line: line)
        case (_, EACCES), (_, EPERM):
            return ClamdError(
                .permissionDenied,
                "permission denied connecting to clamd at \(endpoint): run as a user allowed on the socket (clamd.conf LocalSocketGroup/LocalSocketMode)",
                cause: cause, file: file, line: line)
        case (_, ETIMEDOUT):
            return ClamdError(
                .timedOut, "connecting to clamd at \(endpoint) timed out: check the address and any firewall",
                cause: cause, file: file, line: line)
        default:
            return ClamdError(
                .io, "cannot connect to clamd at \(endpoint): \(cause)", cause: cause, file: file, line: line)
        }
    }
}
