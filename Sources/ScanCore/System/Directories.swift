#if canImport(Glibc)
import Glibc
#endif

/// Creating, opening and syncing directories.
public enum Directories {
    /// The directory part of `path` (`"."` for a bare name, `"/"` for a name at the root).
    public static func parent(of path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return "." }
        return slash == trimmed.startIndex ? "/" : String(trimmed[..<slash])
    }

    /// `mkdir -p`: creates `path` and its missing parents with `mode`; an existing directory is
    /// fine. Throws the first mkdir that failed for another reason than EEXIST.
    public static func makeAll(_ path: String, mode: mode_t = 0o755) throws(SystemError) {
        if path.isEmpty || access(path, F_OK) == 0 { return }
        let parent = parent(of: path)
        if parent != path && parent != "." && parent != "/" { try makeAll(parent, mode: mode) }
        switch Sys.mkdir(path, mode) {
        case .success: return
        case .failure(let error) where error.errno.rawValue == EEXIST: return
        case .failure(let error): throw error
        }
    }

    /// Opens the directory `path` read-only (`O_DIRECTORY`).
    public static func open(_ path: String, followSymlinks: Bool = true) throws(SystemError) -> FileDescriptor {
        try FileDescriptor.open(path, O_RDONLY | O_DIRECTORY | (followSymlinks ? 0 : O_NOFOLLOW))
    }

    /// fsync of the directory `path` (what makes a rename or an unlink in it durable).
    public static func sync(_ path: String) throws(SystemError) {
        let directory = try open(path)
        try directory.sync()
        try directory.close()
    }

    /// How a directory created by ``openBeneath(_:_:create:mode:owner:)`` gets its owner.
    public enum NewOwner: Sendable, Hashable {
        /// The creating process's (the kernel's default).
        case process
        /// This uid and gid.
        case given(uid: UInt32, gid: UInt32)
        /// Its parent's, when running as root (else the process's).
        case parentsWhenRoot
    }

    /// Opens `components` one at a time beneath the directory open on `root`, each with
    /// `openat(O_DIRECTORY | O_NOFOLLOW)`: a symlink anywhere on the way is refused (ELOOP or
    /// ENOTDIR) and `..` cannot climb out through a link. With `create`, missing directories are
    /// made (`mode` set explicitly, owner per `owner`) and their parent fsynced. Returns `root`
    /// itself for no components; any other descriptor is the caller's to close.
    ///
    /// (openat2 with RESOLVE_BENEATH would do this in one call, but it is missing from older
    /// kernels and seccomp profiles; the component walk works everywhere and is what the callers
    /// were written against.)
    public static func openBeneath(_ root: Int32, _ components: some Sequence<[UInt8]>, create: Bool,
                                   mode: mode_t = 0o775, owner: NewOwner = .process) -> Result<Int32, SystemError> {
        var current = root
        func closeCurrent() { if current != root { _ = Sys.close(current) } }
        let flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC
        for component in components {
            var next = Sys.openat(current, component, flags)
            if case .failure(let error) = next, error.errno.rawValue == ENOENT, create {
                let made = Sys.mkdirat(current, component, mode)
                if case .failure(let error) = made, error.errno.rawValue != EEXIST {
                    closeCurrent()
                    return .failure(error)
                }
                next = Sys.openat(current, component, flags)
                if case .success = made, case .success(let fd) = next {
                    _ = Sys.fchmod(fd, mode)
                    switch owner {
                    case .process: break
                    case .given(let uid, let gid): _ = Sys.fchown(fd, uid, gid)
                    case .parentsWhenRoot:
                        if geteuid() == 0, case .success(let parent) = Sys.fstat(current) {
                            _ = Sys.fchown(fd, parent.st_uid, parent.st_gid)
                        }
                    }
                    if case .failure(let error) = Sys.fsync(current) {
                        _ = Sys.close(fd)
                        closeCurrent()
                        return .failure(error)
                    }
                }
            }
            switch next {
            case .failure(let error):
                closeCurrent()
                return .failure(error)
            case .success(let fd):
                closeCurrent()
                current = fd
            }
        }
        return .success(current)
    }
}
