#if canImport(Glibc)
import Glibc
#endif

/// The flock(2) that keeps rescans from overlapping, the way the legacy cron's `setlock -n` did.
/// The holder's pid is also written into the file; the `rescan` check mode finds the holder in
/// /proc/locks (``LockProbe``) without touching the lock. Released when the process exits,
/// however it exits (SIGKILL included).
public final class RescanLock: @unchecked Sendable {
    public let path: String
    private let lock: LockFile

    private init(path: String, lock: LockFile) {
        self.path = path
        self.lock = lock
    }

    deinit { lock.release() }

    /// Takes the lock without waiting. Creates the file (and its directory) if needed.
    /// - Throws: `.lockHeld` naming the holder when another process has it; `.lockUnavailable`
    ///   when the file cannot be created or opened.
    public static func acquire(_ path: String) throws(RescanError) -> RescanLock {
        let lock: LockFile
        do {
            lock = try LockFile.acquire(path, mode: 0o644)
        } catch {
            switch error {
            case .held:
                throw RescanError(.lockHeld, "another rescan-clean is running: \(holderText(path)); nothing was touched")
            case .cannotOpen(let failure):
                throw RescanError(.lockUnavailable, "cannot open the lock file \(path): \(errnoText(failure.errno.rawValue)); use --lock to put it somewhere writable", cause: failure.errno)
            case .cannotLock(let failure):
                throw RescanError(.lockUnavailable, "cannot lock \(path): \(errnoText(failure.errno.rawValue))", cause: failure.errno)
            }
        }
        // Say who holds it (the check reads /proc/locks; people read the file).
        try? lock.record("\(getpid())\n")
        return RescanLock(path: path, lock: lock)
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
