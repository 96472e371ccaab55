#if canImport(Glibc)
import Glibc
#endif

/// Wall and monotonic time as plain seconds (the pipeline code takes "now" as an argument;
/// only callers at the edge read the real clock).
public enum MonotonicClock {
    /// Seconds on CLOCK_MONOTONIC, for measuring durations.
    public static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}

public enum WallClock {
    /// Seconds since the epoch on CLOCK_REALTIME.
    public static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
