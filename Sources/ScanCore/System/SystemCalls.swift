// The system-call seam of ScanCore: every Linux call the library makes on files, directories and
// locks goes through this folder, which turns errno into data, retries EINTR in one place, and
// (debug builds only) lets a test make any call fail (``SystemFaults``).
//
// Why not apple/swift-system (1.8.1 is on this machine): its `Errno` and `FileDescriptor` cover
// open/read/write/close, but it has no openat, renameat2, linkat/unlinkat, flock, getdents64 or
// statx, which are most of what we call, and its mocking layer (`MockingDriver`) is internal to
// its own test target, so it could not make *our* calls fail. Depending on it would give two errno
// types and two descriptor types for one small saving, so this is our own thin layer, laid out as
// its `system_*` adapters are: one function per call, named after it, doing nothing but forwarding
// and reporting errno.
#if canImport(Glibc)
import Glibc
#endif
import CScanSupport

/// A C errno value as an error.
public struct Errno: Error, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32
    public init(_ rawValue: Int32) { self.rawValue = rawValue }
    public var description: String {
        rawValue == Errno.notRegularFile.rawValue
            ? "not a regular file (a FIFO, socket, device or directory)" : errnoText(rawValue)
    }

    /// The path names something other than a regular file (a FIFO, a socket, a device or a
    /// directory): refused before any read, so a FIFO planted where a file is expected can never
    /// hold a reader. Its description says so (it is no kernel errno).
    public static let notRegularFile = Errno(-1)
}

/// The C library's text for an errno value and the number: `No space left on device (errno 28)`.
/// The one place ScanCore formats `strerror`.
public func errnoText(_ value: Int32) -> String { "\(strerrorText(value)) (errno \(value))" }

/// `strerror(value)` alone, without the number.
public func strerrorText(_ value: Int32) -> String { String(cString: strerror(value)) }

/// The system calls the seam wraps, by name (the name a failure message shows, and what a fault
/// is injected for).
public enum SystemCall: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case open, openat, close, read, pread, write, pwrite, fsync, ftruncate, lseek
    case rename, renameat2, linkat, unlinkat, unlink, mkdir, mkdirat, rmdir
    case fcntl, fchmod, fchown, futimens, fstat, statx, flock, getdents64, copyFileRange = "copy_file_range"
    case access, mkdtemp, mkstemp
    // sockets (Socket.swift)
    case socket, connect, send, recv, poll, getsockopt, sendmsg
    // inotify and leases (Inotify.swift)
    case inotifyInit1 = "inotify_init1", inotifyAddWatch = "inotify_add_watch", inotifyRmWatch = "inotify_rm_watch"
    // processes and signals (Process.swift, Signals.swift)
    case posixSpawn = "posix_spawn", waitpid, kill, pipe, sigaction
    // threads (Threads.swift)
    case pthreadCreate = "pthread_create"

    public var description: String { rawValue }
}

/// A failed system call: which call, on which path (when known), and the errno.
///
/// `description` reads `fsync /srv/clean/a: Input/output error (errno 5)`.
public struct SystemError: Error, Hashable, Sendable, CustomStringConvertible {
    public let call: SystemCall
    /// The path the call was made on, escaped for display; nil when there is none (a pipe).
    public let path: String?
    public let errno: Errno

    public init(_ call: SystemCall, path: String?, errno: Errno) {
        self.call = call
        self.path = path
        self.errno = errno
    }

    public var description: String {
        if let path { return "\(call) \(path): \(errno)" }
        return "\(call): \(errno)"
    }
}

extension SystemError {
    /// Runs `body`, keeping only the errno of a failure (for the APIs that throw ``Errno``).
    public static func errnoOnly<T>(_ body: () throws(SystemError) -> T) throws(Errno) -> T {
        do { return try body() } catch { throw error.errno }
    }
}

/// flock(2) (at file scope: inside ``Sys`` the name would find `struct flock`).
private func cFlock(_ fd: Int32, _ operation: Int32) -> Int32 { flock(fd, operation) }

/// stat(2) following symlinks (at file scope: inside ``Sys`` the name would find `struct stat`).
private func cStat(_ path: String, _ info: inout Glibc.stat) -> Int32 { stat(path, &info) }

/// The thin adapters. Each makes one call, retries it on EINTR, and returns errno as data. `path`
/// arguments name what the call acts on, for messages and fault matching only; for calls on a
/// descriptor it may be nil, and then (only when a message or a fault needs it) the descriptor's
/// path is read from /proc/self/fd.
@usableFromInline
enum Sys {
    /// Runs `body` until it returns a non-negative value or fails with something other than EINTR.
    @inline(__always)
    static func retrying<T: BinaryInteger>(_ call: SystemCall, _ path: @autoclosure () -> String?,
                                            _ body: () -> T) -> Result<T, SystemError> {
        while true {
            #if DEBUG
            if SystemFaults.armed, let injected = SystemFaults.take(call, path: path()) {
                if injected == EINTR { continue }
                return .failure(SystemError(call, path: path(), errno: Errno(injected)))
            }
            #endif
            let result = body()
            if result >= 0 { return .success(result) }
            let error = Glibc.errno
            if error == EINTR { continue }
            return .failure(SystemError(call, path: path(), errno: Errno(error)))
        }
    }

    /// The path of an open descriptor (`/proc/self/fd/N`), for messages; nil if unreadable.
    static func path(of fd: Int32) -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/fd/\(fd)", &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        return PathEscaping.display(buffer[0..<n].map { UInt8(bitPattern: $0) })
    }

    /// `directory` (a descriptor) joined with `name`, for messages.
    static func path(_ directory: Int32, _ name: [UInt8]) -> String {
        let shown = PathEscaping.display(name)
        if directory == AT_FDCWD { return shown }
        guard let base = path(of: directory) else { return shown }
        return base == "/" ? "/" + shown : base + "/" + shown
    }

    static func withCString<R>(_ bytes: [UInt8], _ body: (UnsafePointer<CChar>) -> R) -> R {
        var copy = bytes
        copy.append(0)
        return copy.withUnsafeBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) { body($0) }
        }
    }

    // MARK: descriptors

    static func open(_ path: String, _ flags: Int32, _ mode: mode_t = 0) -> Result<Int32, SystemError> {
        retrying(.open, path) { Glibc.open(path, flags, mode) }
    }

    static func openat(_ directory: Int32, _ name: [UInt8], _ flags: Int32, _ mode: mode_t = 0) -> Result<Int32, SystemError> {
        retrying(.openat, path(directory, name)) { withCString(name) { Glibc.openat(directory, $0, flags, mode) } }
    }

    /// open(2) through the seam, in the C shape for callers written against it: the descriptor,
    /// or -1 with errno set (also for an injected fault).
    static func openRaw(_ path: String, _ flags: Int32, _ mode: mode_t = 0) -> Int32 {
        switch open(path, flags, mode) {
        case .success(let fd): return fd
        case .failure(let error): Glibc.errno = error.errno.rawValue; return -1
        }
    }

    /// openat(2) through the seam in the C shape (see ``openRaw(_:_:_:)``).
    static func openatRaw(_ directory: Int32, _ name: [UInt8], _ flags: Int32, _ mode: mode_t = 0) -> Int32 {
        switch openat(directory, name, flags, mode) {
        case .success(let fd): return fd
        case .failure(let error): Glibc.errno = error.errno.rawValue; return -1
        }
    }

    /// close(2). Never retried: on Linux the descriptor is gone even when close reports EINTR.
    static func close(_ fd: Int32, path: String? = nil) -> Result<Void, SystemError> {
        #if DEBUG
        if SystemFaults.armed, let injected = SystemFaults.take(.close, path: path ?? Sys.path(of: fd)) {
            _ = Glibc.close(fd)
            return .failure(SystemError(.close, path: path ?? Sys.path(of: fd), errno: Errno(injected)))
        }
        #endif
        if Glibc.close(fd) == 0 { return .success(()) }
        let error = Glibc.errno
        if error == EINTR { return .success(()) }
        return .failure(SystemError(.close, path: path, errno: Errno(error)))
    }

    static func read(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int, path: String? = nil) -> Result<Int, SystemError> {
        retrying(.read, path ?? Sys.path(of: fd)) { Glibc.read(fd, buffer, count) }
    }

    static func pread(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int, _ offset: Int64,
                      path: String? = nil) -> Result<Int, SystemError> {
        retrying(.pread, path ?? Sys.path(of: fd)) { Glibc.pread(fd, buffer, count, off_t(offset)) }
    }

    static func write(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int, path: String? = nil) -> Result<Int, SystemError> {
        retrying(.write, path ?? Sys.path(of: fd)) { Glibc.write(fd, buffer, count) }
    }

    static func pwrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int, _ offset: Int64,
                       path: String? = nil) -> Result<Int, SystemError> {
        retrying(.pwrite, path ?? Sys.path(of: fd)) { Glibc.pwrite(fd, buffer, count, off_t(offset)) }
    }

    static func fsync(_ fd: Int32, path: String? = nil) -> Result<Void, SystemError> {
        retrying(.fsync, path ?? Sys.path(of: fd)) { Glibc.fsync(fd) }.map { _ in () }
    }

    static func ftruncate(_ fd: Int32, _ length: Int64, path: String? = nil) -> Result<Void, SystemError> {
        retrying(.ftruncate, path ?? Sys.path(of: fd)) { Glibc.ftruncate(fd, off_t(length)) }.map { _ in () }
    }

    static func lseek(_ fd: Int32, _ offset: Int64, _ whence: Int32, path: String? = nil) -> Result<Int64, SystemError> {
        retrying(.lseek, path ?? Sys.path(of: fd)) { Int64(Glibc.lseek(fd, off_t(offset), whence)) }
    }

    /// fcntl(F_SETFL): the file status flags (O_NONBLOCK on or off).
    static func setStatusFlags(_ fd: Int32, _ flags: Int32, path: String? = nil) -> Result<Void, SystemError> {
        retrying(.fcntl, path ?? Sys.path(of: fd)) { Glibc.fcntl(fd, F_SETFL, flags) }.map { _ in () }
    }

    static func fchmod(_ fd: Int32, _ mode: mode_t, path: String? = nil) -> Result<Void, SystemError> {
        retrying(.fchmod, path ?? Sys.path(of: fd)) { Glibc.fchmod(fd, mode) }.map { _ in () }
    }

    static func fchown(_ fd: Int32, _ uid: UInt32, _ gid: UInt32, path: String? = nil) -> Result<Void, SystemError> {
        retrying(.fchown, path ?? Sys.path(of: fd)) { Glibc.fchown(fd, uid, gid) }.map { _ in () }
    }

    static func futimens(_ fd: Int32, accessed: timespec, modified: timespec, path: String? = nil) -> Result<Void, SystemError> {
        var times = [accessed, modified]
        return retrying(.futimens, path ?? Sys.path(of: fd)) { Glibc.futimens(fd, &times) }.map { _ in () }
    }

    static func fstat(_ fd: Int32, path: String? = nil) -> Result<Glibc.stat, SystemError> {
        var info = Glibc.stat()
        return retrying(.fstat, path ?? Sys.path(of: fd)) { Glibc.fstat(fd, &info) }.map { _ in info }
    }

    static func flock(_ fd: Int32, _ operation: Int32, path: String? = nil) -> Result<Void, SystemError> {
        retrying(.flock, path ?? Sys.path(of: fd)) { cFlock(fd, operation) }.map { _ in () }
    }

    static func getdents64(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int, path: String? = nil) -> Result<Int, SystemError> {
        retrying(.getdents64, path ?? Sys.path(of: fd)) { vs_getdents64(fd, buffer, UInt(count)) }
    }

    static func copyFileRange(from source: Int32, offset: inout Int64, to destination: Int32, count: Int,
                              path: String? = nil) -> Result<Int, SystemError> {
        var position = offset
        defer { offset = position }
        return retrying(.copyFileRange, path ?? Sys.path(of: destination)) {
            vs_copy_file_range(source, &position, destination, UInt(count))
        }
    }

    // MARK: names in a directory

    /// statx(AT_SYMLINK_NOFOLLOW) of `name` in `directory`.
    static func stat(_ directory: Int32, _ name: [UInt8], wantBirthTime: Bool = false) -> Result<FileMetadata, SystemError> {
        var raw = vs_stat()
        return retrying(.statx, path(directory, name)) {
            withCString(name) { vs_statx(directory, $0, wantBirthTime ? 1 : 0, &raw) }
        }.map { _ in FileMetadata(raw) }
    }

    /// statx(AT_SYMLINK_NOFOLLOW) of the NUL-terminated `name` in `directory` ("" for the
    /// descriptor itself).
    static func stat(_ directory: Int32, _ name: UnsafePointer<CChar>, wantBirthTime: Bool) -> Result<FileMetadata, SystemError> {
        var raw = vs_stat()
        return retrying(.statx, name[0] == 0 ? (path(of: directory) ?? "") : path(directory, Array(String(cString: name).utf8))) {
            vs_statx(directory, name, wantBirthTime ? 1 : 0, &raw)
        }.map { _ in FileMetadata(raw) }
    }

    /// stat(2) of `path`, following a final symlink.
    static func statFollowing(_ path: String) -> Result<Glibc.stat, SystemError> {
        var info = Glibc.stat()
        return retrying(.statx, path) { cStat(path, &info) }.map { _ in info }
    }

    static func renameNoReplace(_ fromDirectory: Int32, _ from: [UInt8], _ toDirectory: Int32, _ to: [UInt8]) -> Result<Void, SystemError> {
        retrying(.renameat2, path(toDirectory, to)) {
            withCString(from) { source in withCString(to) { vs_rename_noreplace(fromDirectory, source, toDirectory, $0) } }
        }.map { _ in () }
    }

    static func rename(_ from: String, _ to: String) -> Result<Void, SystemError> {
        retrying(.rename, to) { Glibc.rename(from, to) }.map { _ in () }
    }

    static func linkat(_ fromDirectory: Int32, _ from: [UInt8], _ toDirectory: Int32, _ to: [UInt8]) -> Result<Void, SystemError> {
        retrying(.linkat, path(toDirectory, to)) {
            withCString(from) { source in withCString(to) { Glibc.linkat(fromDirectory, source, toDirectory, $0, 0) } }
        }.map { _ in () }
    }

    static func unlinkat(_ directory: Int32, _ name: [UInt8], flags: Int32 = 0) -> Result<Void, SystemError> {
        retrying(.unlinkat, path(directory, name)) { withCString(name) { Glibc.unlinkat(directory, $0, flags) } }.map { _ in () }
    }

    static func unlink(_ path: String) -> Result<Void, SystemError> {
        retrying(.unlink, path) { Glibc.unlink(path) }.map { _ in () }
    }

    static func rmdir(_ path: String) -> Result<Void, SystemError> {
        retrying(.rmdir, path) { Glibc.rmdir(path) }.map { _ in () }
    }

    static func mkdir(_ path: String, _ mode: mode_t) -> Result<Void, SystemError> {
        retrying(.mkdir, path) { Glibc.mkdir(path, mode) }.map { _ in () }
    }

    /// access(2): whether `path` exists (`F_OK`) or is executable (`X_OK`) for this process.
    @usableFromInline
    static func access(_ path: String, _ mode: Int32) -> Bool {
        if case .success = retrying(.access, path, { Glibc.access(path, mode) }) { return true }
        return false
    }

    /// mkdtemp(3): a new private directory from `template` (ending in `XXXXXX`); its path.
    static func mkdtemp(_ template: String) -> Result<String, SystemError> {
        var bytes = Array(template.utf8CString)
        var made: String?
        let result = retrying(.mkdtemp, template) { () -> Int32 in
            guard let pointer = bytes.withUnsafeMutableBufferPointer({ Glibc.mkdtemp($0.baseAddress!) }) else { return -1 }
            made = String(cString: pointer)
            return 0
        }
        return result.map { _ in made! }
    }

    /// mkstemp(3): a new file from `template` (ending in `XXXXXX`), open read-write; its
    /// descriptor and path.
    static func mkstemp(_ template: String) -> Result<(fd: Int32, path: String), SystemError> {
        var bytes = Array(template.utf8CString)
        let result = retrying(.mkstemp, template) { bytes.withUnsafeMutableBufferPointer { Glibc.mkstemp($0.baseAddress!) } }
        return result.map { fd in (fd, String(decoding: bytes.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)) }
    }

    static func mkdirat(_ directory: Int32, _ name: [UInt8], _ mode: mode_t) -> Result<Void, SystemError> {
        retrying(.mkdirat, path(directory, name)) { withCString(name) { Glibc.mkdirat(directory, $0, mode) } }.map { _ in () }
    }
}
