/// An error from setting up a scanning engine (``ScannerFactory``) or asking it which databases it
/// runs with. A file that cannot be scanned is not an error of this type: it is
/// ``ScanVerdict/error(message:)``.
///
/// Its one code is the shared ``ErrorCode/engineUnavailable``: no scanning engine could be set up
/// (clamd unreachable, libclamav failed to load), or its database version could not be read.
public typealias ScanningError = SubsystemError<ScanningErrorDomain>

/// The domain of ``ScanningError``.
public enum ScanningErrorDomain {}
