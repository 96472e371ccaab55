#if canImport(Glibc)
import Glibc
#endif

/// Replaces a file atomically: the bytes go to a temp file, which is fsynced, renamed over the
/// target, and then the directory holding the target is fsynced. A reader sees the old file or
/// the new one, never half of either; a crash leaves at most a temp file behind. The one
/// implementation of this in ScanCore.
public enum AtomicFile {
    /// How the temp file is named and the result made durable.
    public struct Options: Sendable {
        /// The temp file's full path; nil: `.<name>.virus_scan-tmp.<pid>.<random>` beside the target.
        /// (A fixed name is truncated and reused; a generated one is created exclusively.)
        public var temporaryPath: String?
        /// Mode of a new file.
        public var mode: mode_t
        /// Give the new file the owner and mode of the file it replaces, if there is one.
        public var keepOwnerAndMode: Bool
        /// fsync the file before the rename and the directory after it (off: rename only).
        public var durable: Bool
        /// The directory to fsync after the rename; nil: the target's own.
        public var syncDirectory: String?

        public init(temporaryPath: String? = nil, mode: mode_t = 0o644, keepOwnerAndMode: Bool = false,
                    durable: Bool = true, syncDirectory: String? = nil) {
            self.temporaryPath = temporaryPath
            self.mode = mode
            self.keepOwnerAndMode = keepOwnerAndMode
            self.durable = durable
            self.syncDirectory = syncDirectory
        }
    }

    /// Writes `bytes` to `path` atomically. On a failure before the rename the temp file is
    /// removed and `path` is untouched; a failed fsync of the directory after the rename is
    /// reported too (the new file is in place but may not survive a crash).
    public static func write(_ bytes: some Collection<UInt8>, to path: String, options: Options = Options()) throws(SystemError) {
        let directory = Directories.parent(of: path)
        let temporary: String
        var flags = O_WRONLY | O_CREAT | O_NOFOLLOW
        if let fixed = options.temporaryPath {
            temporary = fixed
            flags |= O_TRUNC
        } else {
            var random = SystemRandomNumberGenerator()
            let name = path[(path.lastIndex(of: "/").map { path.index(after: $0) } ?? path.startIndex)...]
            temporary = "\(directory)/.\(name).virus_scan-tmp.\(getpid()).\(String(random.next() as UInt64, radix: 36))"
            flags |= O_EXCL
        }
        var existing: FileMetadata?
        if options.keepOwnerAndMode, let old = try? FileDescriptor.open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY) {
            existing = try? old.metadata()
        }
        let file = try FileDescriptor.open(temporary, flags, mode: existing.map { mode_t($0.mode & 0o7777) } ?? options.mode)
        do throws(SystemError) {
            try file.writeAll(bytes)
            if let existing {
                try file.changeOwner(uid: existing.uid, gid: existing.gid)
                try file.changeMode(mode_t(existing.mode & 0o7777))
            }
            if options.durable { try file.sync() }
            try file.close()
            try Sys.rename(temporary, path).get()
        } catch {
            _ = Sys.unlink(temporary)
            throw error
        }
        if options.durable { try Directories.sync(options.syncDirectory ?? directory) }
    }
}
