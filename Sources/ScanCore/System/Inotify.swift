// inotify and file leases through the seam (the watcher's calls, `drain --watch`): errno as data,
// EINTR retried, a fault injectable in debug builds. `inotify_init1` has no path; scope its faults
// with `SystemFaults.inTask`. A watch is added on a directory's descriptor (`/proc/self/fd/N`), so
// its path for fault matching is the directory the descriptor names.
#if canImport(Glibc)
import Glibc
#endif

extension Sys {
    static func inotifyInit1(_ flags: Int32) -> Result<Int32, SystemError> {
        retrying(.inotifyInit1, nil) { inotify_init1(flags) }
    }

    /// inotify_add_watch(2) on the directory open on `directory` (through /proc/self/fd, so the
    /// watch is on what was opened, whatever its name points to now); the watch descriptor.
    static func inotifyAddWatch(_ inotify: Int32, directory: Int32, mask: UInt32) -> Result<Int32, SystemError> {
        retrying(.inotifyAddWatch, Sys.path(of: directory)) {
            "/proc/self/fd/\(directory)".withCString { inotify_add_watch(inotify, $0, mask) }
        }
    }

    static func inotifyRmWatch(_ inotify: Int32, _ watch: Int32) -> Result<Void, SystemError> {
        retrying(.inotifyRmWatch, nil) { inotify_rm_watch(inotify, watch) }.map { _ in () }
    }

    /// fcntl(F_SETLEASE): takes (`F_RDLCK`, `F_WRLCK`) or releases (`F_UNLCK`) a lease.
    static func setLease(_ fd: Int32, _ type: Int32, path: String? = nil) -> Result<Void, SystemError> {
        let setLease: Int32 = 1024  // F_SETLEASE (Glibc does not export it without _GNU_SOURCE)
        return retrying(.fcntl, path ?? Sys.path(of: fd)) { Glibc.fcntl(fd, setLease, type) }.map { _ in () }
    }
}
