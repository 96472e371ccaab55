#if canImport(Glibc)
import Glibc
#endif

/// An exclusive `flock(2)` on a lock file, taken without waiting (as `setlock -n` takes it) and
/// held until ``release()``, deinit or the process's exit (however it exits). The one lock
/// implementation under ``QueueLock`` and ``RescanLock``, which word the messages.
public final class LockFile: @unchecked Sendable {
    /// Why the lock was not taken.
    public enum Failure: Error, Sendable, Hashable {
        /// Another open file description holds it.
        case held
        /// The lock file could not be created or opened.
        case cannotOpen(SystemError)
        /// flock failed for another reason than being held.
        case cannotLock(SystemError)
    }

    public let path: String
    private var descriptor: FileDescriptor?

    private init(path: String, descriptor: FileDescriptor) {
        self.path = path
        self.descriptor = descriptor
    }

    deinit { release() }

    /// Opens (creating with `mode`) and locks `path`. `createDirectories`: make its missing
    /// parent directories first (0755). `readOnlyFallback`: where the file cannot be opened for
    /// writing (EACCES, EROFS), lock it opened read-only (flock does not need write access).
    public static func acquire(_ path: String, mode: mode_t, createDirectories: Bool = true,
                               readOnlyFallback: Bool = false) throws(Failure) -> LockFile {
        if createDirectories {
            let directory = Directories.parent(of: path)
            if directory != "." && directory != "/" { try? Directories.makeAll(directory) }
        }
        let file: FileDescriptor
        do {
            file = try FileDescriptor.open(path, O_RDWR | O_CREAT | O_NOFOLLOW, mode: mode)
        } catch let error where readOnlyFallback && (error.errno.rawValue == EACCES || error.errno.rawValue == EROFS) {
            do { file = try FileDescriptor.open(path, O_RDONLY | O_NOFOLLOW) } catch { throw .cannotOpen(error) }
        } catch {
            throw .cannotOpen(error)
        }
        do {
            try file.lock(LOCK_EX | LOCK_NB)
        } catch {
            if error.errno.rawValue == EWOULDBLOCK { throw .held }
            throw .cannotLock(error)
        }
        return LockFile(path: path, descriptor: file)
    }

    /// Replaces the file's content with `text` (who holds it, for people reading the file).
    public func record(_ text: String) throws(SystemError) {
        guard let descriptor else { return }
        try descriptor.truncate(to: 0)
        let bytes = Array(text.utf8)
        try bytes.withUnsafeBytes { raw -> Result<Void, SystemError> in
            var offset = 0
            while offset < raw.count {
                switch Sys.pwrite(descriptor.rawValue, raw.baseAddress! + offset, raw.count - offset, Int64(offset), path: descriptor.path) {
                case .success(let n): offset += n
                case .failure(let error): return .failure(error)
                }
            }
            return .success(())
        }.get()
    }

    /// Whether the lock is still held by this object.
    public var isHeld: Bool { descriptor != nil }

    /// Releases the lock (closing the descriptor). Idempotent.
    public func release() {
        guard let descriptor else { return }
        self.descriptor = nil
        _ = Sys.flock(descriptor.rawValue, LOCK_UN, path: descriptor.path)
        try? descriptor.close()
    }
}
