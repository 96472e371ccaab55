/// An error from `rescan-clean`: what stopped it from starting or continuing, and what to do.
///
/// `description` is one line; `detailedDescription` adds the cause and where it was raised.
public typealias RescanError = SubsystemError<RescanErrorDomain>

/// The domain of ``RescanError``.
public enum RescanErrorDomain {}

extension ErrorCode where Domain == RescanErrorDomain {
    /// Another rescan holds the lock: nothing was touched.
    public static var lockHeld: Self { Self("lock held") }
    /// The lock file could not be created or opened.
    public static var lockUnavailable: Self { Self("lock unavailable") }
    /// A clean tree (or its infected tree's parent) does not exist or cannot be opened.
    public static var treeMissing: Self { Self("tree missing") }
    /// The state file cannot be written (its directory is missing or read-only).
    public static var stateUnwritable: Self { Self("state unwritable") }
    /// The state file does not parse or does not describe these trees (an unknown format,
    /// negative or impossible counters, a checkpoint that is no path of its tree): not trusted.
    public static var stateInvalid: Self { Self("state invalid") }
    /// No scanning engine could be set up, or its database version could not be read.
    public static var engineUnavailable: Self { Self("engine unavailable") }
    /// Any other file-system failure.
    public static var io: Self { Self("I/O error") }
}
