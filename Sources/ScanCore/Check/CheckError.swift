/// An error of the check itself: bad arguments, bad ranges, the watchdog, a mode that cannot run.
///
/// `description` is one line, printed after `VIRUS_SCAN UNKNOWN - `. Its codes: the shared
/// ``ErrorCode/invalidArgument`` and ``ErrorCode/timeout`` (the plugin's own time limit), and its own (all in `ErrorCodes.swift`).
public typealias CheckError = SubsystemError<CheckErrorDomain>

/// The domain of ``CheckError``.
public enum CheckErrorDomain {}
