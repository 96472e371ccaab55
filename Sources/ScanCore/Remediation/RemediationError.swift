/// An error from a remediation command (`drain`, `scan`, `db-info`, `clamd-status`,
/// `restart-clamd`, `ignore-signature`): what happened and what to do about it.
///
/// `description` is one line; `detailedDescription` adds the cause and where it was raised.
public typealias RemediationError = SubsystemError<RemediationErrorDomain>

/// The domain of ``RemediationError``.
public enum RemediationErrorDomain {}

extension ErrorCode where Domain == RemediationErrorDomain {
    /// Another process holds the queue's lock: nothing was touched.
    public static var lockHeld: Self { Self("lock held") }
    /// The lock file could not be created or opened.
    public static var lockUnavailable: Self { Self("lock unavailable") }
    /// No scanning engine could be set up (clamd unreachable and libclamav failed to load).
    public static var engineUnavailable: Self { Self("engine unavailable") }
    /// A file-system call failed (queue root, list file, journal, ignore list).
    public static var io: Self { Self("I/O error") }
    /// An argument is invalid (a malformed signature name, `--owner` that does not resolve).
    public static var invalidArgument: Self { Self("invalid argument") }
    /// clamd did not answer PING again before the deadline.
    public static var clamdNotBack: Self { Self("clamd not back") }
    /// A child command could not be started.
    public static var commandFailed: Self { Self("command failed") }
}
