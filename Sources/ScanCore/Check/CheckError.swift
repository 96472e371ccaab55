/// An error of the check itself: bad arguments, bad ranges, the watchdog, a mode that cannot run.
///
/// `description` is one line, printed after `VIRUS_SCAN UNKNOWN - `. Its codes: the shared
/// ``ErrorCode/invalidArgument`` and ``ErrorCode/timeout`` (the plugin's own time limit), and its own below.
public typealias CheckError = SubsystemError<CheckErrorDomain>

/// The domain of ``CheckError``.
public enum CheckErrorDomain {}

extension ErrorCode where Domain == CheckErrorDomain {
    /// A threshold range that is not Monitoring Plugins range syntax.
    public static var invalidRange: Self { Self("invalid range") }
    /// A duration (`90s`, `10m`, `2h`, `1d`) that does not parse.
    public static var invalidDuration: Self { Self("invalid duration") }
    /// Something the mode needs is not there (a state file, a database).
    public static var unavailable: Self { Self("unavailable") }
}
