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
        var readEnd: Int32 = -1
        if case .success(let fds) = SelfPipe.make() {  // System/Signals.swift
            readEnd = fds.read
            stopPipeWrite.store(fds.write, ordering: .sequentiallyConsistent)
        }
        for signal in signals {
            _ = Sys.sigaction(signal) { _ in
                stopRequested.store(true, ordering: .sequentiallyConsistent)
                let fd = stopPipeWrite.load(ordering: .sequentiallyConsistent)
                if fd >= 0 {
                    // Raw write: a signal handler runs only async-signal-safe code (see Signals.swift).
                    var byte: UInt8 = 1
                    _ = write(fd, &byte, 1)
                }
            }
        }
        return readEnd
    }

    /// Whether a stop was requested.
    public static var requested: Bool { stopRequested.load(ordering: .sequentiallyConsistent) }
}
