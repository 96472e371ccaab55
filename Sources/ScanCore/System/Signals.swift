// Pipes and signal handlers through the seam (the stop self-pipe of `drain --watch`): pipe,
// fcntl(F_SETFD) and sigaction, errno as data, a fault injectable in debug builds (no paths:
// scope them with `SystemFaults.inTask`).
//
// The exception: the handler itself (StopSignal's) calls write(2) on the pipe directly. A signal
// handler may run only async-signal-safe code, and the seam's fault check takes a lock, so that
// one write stays raw.
#if canImport(Glibc)
import Glibc
#endif

/// sigaction(2) (at file scope: inside ``Sys`` the name would find the adapter, and `Glibc.sigaction`
/// the struct).
private func cSigaction(_ signal: Int32, _ action: inout sigaction) -> Int32 { sigaction(signal, &action, nil) }

extension Sys {
    /// pipe(2): the read and the write end.
    static func pipe() -> Result<(read: Int32, write: Int32), SystemError> {
        var fds: [Int32] = [-1, -1]
        return retrying(.pipe, nil) { Glibc.pipe(&fds) }.map { _ in (fds[0], fds[1]) }
    }

    /// fcntl(F_SETFD, FD_CLOEXEC).
    static func setCloseOnExec(_ fd: Int32, path: String? = nil) -> Result<Void, SystemError> {
        retrying(.fcntl, path) { Glibc.fcntl(fd, F_SETFD, FD_CLOEXEC) }.map { _ in () }
    }

    /// fcntl(F_GETFL): the file status flags.
    static func statusFlags(_ fd: Int32, path: String? = nil) -> Result<Int32, SystemError> {
        retrying(.fcntl, path) { Glibc.fcntl(fd, F_GETFL) }
    }

    /// sigaction(2): `handler` for `signal`, with an empty mask and no flags.
    static func sigaction(_ signal: Int32, handler: @escaping @convention(c) (Int32) -> Void) -> Result<Void, SystemError> {
        var action = Glibc.sigaction()
        action.__sigaction_handler.sa_handler = handler
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0
        return retrying(.sigaction, nil) { cSigaction(signal, &action) }.map { _ in () }
    }
}

/// A pipe whose ends are close-on-exec and non-blocking (a self-pipe a poll loop watches).
enum SelfPipe {
    static func make() -> Result<(read: Int32, write: Int32), SystemError> {
        Sys.pipe().flatMap { fds in
            for fd in [fds.read, fds.write] {
                _ = Sys.setCloseOnExec(fd, path: "pipe")
                _ = Sys.statusFlags(fd, path: "pipe").flatMap { Sys.setStatusFlags(fd, $0 | O_NONBLOCK, path: "pipe") }
            }
            return .success(fds)
        }
    }
}
