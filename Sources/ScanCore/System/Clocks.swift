#if canImport(Glibc)
import Glibc
#endif

// Wall and monotonic time as plain seconds: the one place ScanCore calls clock_gettime (the
// pipeline code takes "now" as an argument; only callers at the edge read the real clock).

/// Seconds on CLOCK_MONOTONIC.
public enum MonotonicClock {
    /// Seconds on CLOCK_MONOTONIC, for measuring durations.
    public static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// Sleeps until ``now()`` reaches `deadline` (clock_nanosleep, absolute: a signal does not
    /// shift the wake-up); returns at once for a deadline in the past.
    static func sleep(until deadline: Double) {
        let whole = deadline.rounded(.down)
        var request = timespec(tv_sec: Int(whole), tv_nsec: min(999_999_999, Int((deadline - whole) * 1e9)))
        while clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &request, nil) == EINTR {}
    }
}

/// Seconds since the epoch on CLOCK_REALTIME.
public enum WallClock {
    /// Seconds since the epoch on CLOCK_REALTIME.
    public static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
