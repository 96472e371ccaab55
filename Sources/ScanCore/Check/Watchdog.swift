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

    /// Arms a watchdog that fires `seconds` from now (the process's monotonic clock).
    public init(seconds: Double, phase: String = "starting", exitCode: Int32 = ServiceState.unknown.exitCode) {
        precondition(seconds > 0 && seconds.isFinite, "watchdog needs a positive time limit")
        self.seconds = seconds
        self.exitCode = exitCode
        self.state = Mutex(State(phase: phase))
        let box = Unmanaged.passRetained(self).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(
            &thread, nil,
            { raw in
                let watchdog = Unmanaged<Watchdog>.fromOpaque(raw!).takeRetainedValue()
                watchdog.sleepThenFire()
                return nil
            }, box)
        precondition(rc == 0, "cannot start the watchdog thread (error \(rc))")
        pthread_detach(thread)
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
        var deadline = timespec()
        clock_gettime(CLOCK_MONOTONIC, &deadline)
        // The options bound the limit (10^9 s); the clamp keeps the timespec arithmetic total anyway.
        let limit = min(seconds, BoundedNumber.maximumSeconds)
        let whole = Int(limit.rounded(.down))
        let nanos = Int((limit - Double(whole)) * 1e9)
        deadline.tv_sec += whole
        deadline.tv_nsec += nanos
        if deadline.tv_nsec >= 1_000_000_000 {
            deadline.tv_sec += 1
            deadline.tv_nsec -= 1_000_000_000
        }
        while clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, nil) == EINTR {}
        state.withLock { current in
            if current.finished { return }
            let line = CheckReport.unknownLine(Watchdog.timeoutMessage(seconds: seconds, phase: current.phase))
            Watchdog.writeAll(line, to: 1)
            _exit(exitCode)  // while holding the lock: the main thread can no longer print
        }
    }

    /// Writes the whole string to a file descriptor, retrying short writes and EINTR.
    public static func writeAll(_ text: String, to fd: Int32) {
        var bytes = Array(text.utf8)
        var offset = 0
        bytes.withUnsafeMutableBytes { buffer in
            while offset < buffer.count {
                let n = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    return
                }
                offset += n
            }
        }
    }
}
