#if canImport(Glibc)
import Glibc
#endif

/// The flock(2) that keeps rescans from overlapping, the way the legacy cron's `setlock -n` did.
/// The holder's pid is also written into the file; the `rescan` check mode finds the holder in
/// /proc/locks (``LockProbe``) without touching the lock. Released when the process exits,
/// however it exits (SIGKILL included).
public final class RescanLock: @unchecked Sendable {
    public let path: String
    private let fd: Int32

    private init(path: String, fd: Int32) {
        self.path = path
        self.fd = fd
    }

    deinit {
        flock(fd, LOCK_UN)
        close(fd)
    }

    /// Takes the lock without waiting. Creates the file (and its directory) if needed.
    /// - Throws: `.lockHeld` naming the holder when another process has it; `.lockUnavailable`
    ///   when the file cannot be created or opened.
    public static func acquire(_ path: String) throws(RescanError) -> RescanLock {
        let directory = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
        if !directory.isEmpty {
            var partial = ""
            for component in directory.split(separator: "/") {
                partial += "/" + component
                _ = mkdir(partial, 0o755)
            }
        }
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o644)
        if fd < 0 {
            let saved = errno
            throw RescanError(.lockUnavailable, "cannot open the lock file \(path): \(RescanError.text(saved)); use --lock to put it somewhere writable", cause: Errno(saved))
        }
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let saved = errno
            if saved == EINTR { continue }
            close(fd)
            if saved == EWOULDBLOCK {
                throw RescanError(.lockHeld, "another rescan-clean is running: \(holderText(path)); nothing was touched")
            }
            throw RescanError(.lockUnavailable, "cannot lock \(path): \(RescanError.text(saved))", cause: Errno(saved))
        }
        // Say who holds it (the check reads /proc/locks; people read the file).
        let text = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = text.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        return RescanLock(path: path, fd: fd)
    }

    /// `lock /path held by pid 123` from /proc/locks, else from the pid written in the file.
    static func holderText(_ path: String) -> String {
        if let holders = try? LockProbe.holders(of: path), !holders.isEmpty {
            let pids = holders.map { String($0.pid) }.joined(separator: ", ")
            return "lock \(path) held by pid \(pids)"
        }
        if let text = try? readTextFile(path), let pid = Int32(text.split(separator: "\n").first ?? "") {
            return "lock \(path) held (pid \(pid) wrote it)"
        }
        return "lock \(path) held by another process"
    }
}
