/// An error from a remediation command (`drain`, `scan`, `db-info`, `clamd-status`,
/// `restart-clamd`, `ignore-signature`): what happened and what to do about it.
///
/// `description` is one line; `detailedDescription` adds the cause and where it was raised.
/// Its codes: the shared ``ErrorCode/lockHeld``, ``ErrorCode/lockUnavailable``,
/// ``ErrorCode/engineUnavailable``, ``ErrorCode/io`` (queue root, list file, journal, ignore list),
/// ``ErrorCode/invalidArgument`` and ``ErrorCode/commandFailed`` (all in `ErrorCodes.swift`).
public typealias RemediationError = SubsystemError<RemediationErrorDomain>

/// The domain of ``RemediationError``.
public enum RemediationErrorDomain {}
