#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// The plugin's own time limit, as a real watchdog: a dedicated thread sleeps until the deadline,
/// then prints `VIRUS_SCAN UNKNOWN - plugin timed out after N while <phase>` on stdout and ends the
/// process with `_exit(3)`. It works while the main thread is blocked in a system call (a hung NFS
/// `stat`, a clamd that accepts and never answers), which cooperative cancellation cannot interrupt.
///
/// The main thread names what it is doing with `phase`, and calls `complete()` before it prints its
/// own output, so exactly one of the two outputs is ever written.
public final class Watchdog: Sendable {
    private struct State {
        var phase: String
        var finished = false
    }

    private let state: Mutex<State>
    /// The time limit in seconds.
    public let seconds: Double
    private let exitCode: Int32
    /// When it was armed (``MonotonicClock``).
    private let started: Double

    /// Arms a watchdog that fires `seconds` from now (the process's monotonic clock).
    public init(seconds: Double, phase: String = "starting", exitCode: Int32 = ServiceState.unknown.exitCode) {
        precondition(seconds > 0 && seconds.isFinite, "watchdog needs a positive time limit")
        self.seconds = seconds
        self.exitCode = exitCode
        self.state = Mutex(State(phase: phase))
        self.started = MonotonicClock.now()
        spawnDetachedThread { [self] in sleepThenFire() }
    }

    /// What the check is doing now, named in the timeout message (`reading queue incoming`).
    public var phase: String {
        get { state.withLock { $0.phase } }
        set { state.withLock { $0.phase = newValue } }
    }

    /// Marks the check as finished: the watchdog will not fire any more. Call it before writing the
    /// check's own output.
    public func complete() {
        state.withLock { $0.finished = true }
    }

    /// The message printed when the limit runs out in `phase`.
    public static func timeoutMessage(seconds: Double, phase: String) -> String {
        "plugin timed out after \(PerfDatum.format(seconds))s while \(phase)"
    }

    private func sleepThenFire() {
        // The options bound the limit (10^9 s); the clamp keeps the deadline finite anyway.
        MonotonicClock.sleep(until: started + min(seconds, BoundedNumber.maximumSeconds))
        state.withLock { current in
            if current.finished { return }
            let line = CheckReport.unknownLine(Watchdog.timeoutMessage(seconds: seconds, phase: current.phase))
            Watchdog.writeAll(line, to: 1)
            _exit(exitCode)  // while holding the lock: the main thread can no longer print
        }
    }

    /// Writes the whole string to a file descriptor, retrying short writes and EINTR.
    public static func writeAll(_ text: String, to fd: Int32) {
        try? FileIO.writeAll(fd, Array(text.utf8), path: fd == 1 ? "standard output" : "descriptor \(fd)")
    }
}
