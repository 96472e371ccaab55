/// An error from `rescan-clean`: what stopped it from starting or continuing, and what to do.
///
/// `description` is one line; `detailedDescription` adds the cause and where it was raised.
/// Its codes: the shared ``ErrorCode/lockHeld``, ``ErrorCode/lockUnavailable``,
/// ``ErrorCode/engineUnavailable`` and ``ErrorCode/io``, and its own (all in `ErrorCodes.swift`).
public typealias RescanError = SubsystemError<RescanErrorDomain>

/// The domain of ``RescanError``.
public enum RescanErrorDomain {}
