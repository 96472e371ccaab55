#if canImport(Glibc)
import Glibc
#endif
import Synchronization

private let stopRequested = Atomic<Bool>(false)
private let stopPipeWrite = Atomic<Int32>(-1)

/// SIGTERM and SIGINT as a request to stop after the files in hand: the handler sets a flag and
/// writes a byte to a pipe whose read end a `poll` loop watches (both async-signal-safe).
public enum StopSignal {
    /// Installs the handler for `signals`; returns the descriptor that becomes readable on a signal.
    public static func install(_ signals: [Int32] = [SIGTERM, SIGINT]) -> Int32 {
        var fds: [Int32] = [-1, -1]
        if pipe(&fds) == 0 {
            for fd in fds {
                _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
                _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            }
            stopPipeWrite.store(fds[1], ordering: .sequentiallyConsistent)
        }
        for signal in signals {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { _ in
                stopRequested.store(true, ordering: .sequentiallyConsistent)
                let fd = stopPipeWrite.load(ordering: .sequentiallyConsistent)
                if fd >= 0 {
                    var byte: UInt8 = 1
                    _ = write(fd, &byte, 1)
                }
            }
            sigemptyset(&action.sa_mask)
            action.sa_flags = 0
            sigaction(signal, &action, nil)
        }
        return fds[0]
    }

    /// Whether a stop was requested.
    public static var requested: Bool { stopRequested.load(ordering: .sequentiallyConsistent) }
}
