#if canImport(Glibc)
import Glibc
#endif

/// The queue's lock, taken exactly as the legacy cron's `setlock -n` takes it: `flock(LOCK_EX |
/// LOCK_NB)` on the lock file (created if missing), held until the lock is released or the
/// process exits. A second run, or the legacy scanner, finds it held and gives up at once.
public final class QueueLock: @unchecked Sendable {
    public let path: String
    private let lock: LockFile

    /// Who holds a lock, for the message.
    public struct Holder: Sendable, Hashable, CustomStringConvertible {
        public var pid: Int32
        /// `/proc/PID/cmdline` with spaces for NULs (empty when unreadable).
        public var command: String
        public var description: String { command.isEmpty ? "pid \(pid)" : "pid \(pid) (\(command))" }
    }

    private init(path: String, lock: LockFile) {
        self.path = path
        self.lock = lock
    }

    deinit { release() }

    /// Takes the lock or throws ``RemediationError/Code/lockHeld`` naming the holder(s).
    public static func acquire(_ path: String) throws(RemediationError) -> QueueLock {
        do {
            return QueueLock(path: path, lock: try LockFile.acquire(path, mode: 0o664, readOnlyFallback: true))
        } catch {
            switch error {
            case .held:
                let holders = Self.holders(path)
                let who = holders.isEmpty ? "another process" : holders.map(\.description).joined(separator: ", ")
                throw RemediationError(.lockHeld, "lock \(path) is held by \(who): another run is processing this queue; nothing was touched")
            case .cannotOpen(let failure):
                throw RemediationError(.lockUnavailable, "cannot open lock file \(path): \(errnoText(failure.errno.rawValue))")
            case .cannotLock(let failure):
                throw RemediationError(.lockUnavailable, "cannot lock \(path): \(errnoText(failure.errno.rawValue))")
            }
        }
    }

    /// Takes the lock, waiting up to `seconds` for another holder to release it; then throws
    /// ``RemediationError/Code/lockHeld`` naming the holder(s).
    public static func acquire(_ path: String, waiting seconds: Double) throws(RemediationError) -> QueueLock {
        let deadline = MonotonicClock.now() + seconds
        while true {
            do throws(RemediationError) {
                return try acquire(path)
            } catch {
                if error.code != .lockHeld || MonotonicClock.now() >= deadline { throw error }
            }
            sleepSeconds(0.02)
        }
    }

    /// The processes holding a flock on `path` (from /proc/locks), with their command lines.
    public static func holders(_ path: String) -> [Holder] {
        guard let found = try? LockProbe.holders(of: path) else { return [] }
        return found.map { Holder(pid: $0.pid, command: commandLine(of: $0.pid)) }
    }

    /// Releases the lock (closing the descriptor). Idempotent.
    public func release() { lock.release() }

    static func commandLine(of pid: Int32) -> String {
        guard let bytes = try? readFileBytes("/proc/\(pid)/cmdline", limit: 4096) else { return "" }
        var parts = bytes.split(separator: 0, omittingEmptySubsequences: true).map { PathEscaping.display($0) }
        if parts.count > 8 { parts = Array(parts.prefix(8)) + ["…"] }
        return parts.joined(separator: " ")
    }
}
