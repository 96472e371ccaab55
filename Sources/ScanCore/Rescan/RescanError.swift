/// An error from `rescan-clean`: what stopped it from starting or continuing, and what to do.
///
/// `description` is one line; `detailedDescription` adds the cause and where it was raised.
/// Its codes: the shared ``ErrorCode/lockHeld``, ``ErrorCode/lockUnavailable``,
/// ``ErrorCode/engineUnavailable`` and ``ErrorCode/io``, and its own below.
public typealias RescanError = SubsystemError<RescanErrorDomain>

/// The domain of ``RescanError``.
public enum RescanErrorDomain {}

extension ErrorCode where Domain == RescanErrorDomain {
    /// A clean tree (or its infected tree's parent) does not exist or cannot be opened.
    public static var treeMissing: Self { Self("tree missing") }
    /// The state file cannot be written (its directory is missing or read-only).
    public static var stateUnwritable: Self { Self("state unwritable") }
    /// The state file does not parse or does not describe these trees (an unknown format,
    /// negative or impossible counters, a checkpoint that is no path of its tree): not trusted.
    public static var stateInvalid: Self { Self("state invalid") }
}
