/// An error from setting up a scanning engine (``ScannerFactory``) or asking it which databases it
/// runs with. A file that cannot be scanned is not an error of this type: it is
/// ``ScanVerdict/error(message:)``.
public typealias ScanningError = SubsystemError<ScanningErrorDomain>

/// The domain of ``ScanningError``.
public enum ScanningErrorDomain {}

extension ErrorCode where Domain == ScanningErrorDomain {
    /// No scanning engine could be set up (clamd unreachable, libclamav failed to load), or its
    /// database version could not be read.
    public static var engineUnavailable: Self { Self("engine unavailable") }
}
