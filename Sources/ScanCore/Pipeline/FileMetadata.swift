#if canImport(Glibc)
import Glibc
#endif
import CScanSupport

/// Where a file's "placed on disk" time comes from.
public enum AgeSource: String, Sendable, CaseIterable, Codable {
    /// The modification time: what the original pipeline and every peer tool use.
    case mtime
    /// The birth time (statx), for trees filled by tools that keep old mtimes (rsync -a, cp -p).
    /// Files on filesystems without a birth time fall back to mtime, and the snapshot counts them.
    case btime
}

/// The kind of a directory entry.
public enum EntryKind: String, Sendable, Hashable {
    case regular, directory, symlink, fifo, socket, characterDevice = "character device",
        blockDevice = "block device", unknown

    init(mode: UInt32) {
        switch mode & UInt32(S_IFMT) {
        case UInt32(S_IFREG): self = .regular
        case UInt32(S_IFDIR): self = .directory
        case UInt32(S_IFLNK): self = .symlink
        case UInt32(S_IFIFO): self = .fifo
        case UInt32(S_IFSOCK): self = .socket
        case UInt32(S_IFCHR): self = .characterDevice
        case UInt32(S_IFBLK): self = .blockDevice
        default: self = .unknown
        }
    }

    /// From a getdents64 `d_type`: the `S_IFMT` bits of the mode shifted right by 12 (`IFTODT` in
    /// dirent.h); nil for `DT_UNKNOWN` (the filesystem did not say) or any other type: stat it.
    init?(direntType: UInt8) {
        let kind = EntryKind(mode: UInt32(direntType) << 12)
        guard kind != .unknown else { return nil }
        self = kind
    }
}

/// The metadata of one file, read with statx without following symlinks.
public struct FileMetadata: Sendable, Hashable {
    public var kind: EntryKind
    public var mode: UInt32
    public var size: Int64
    public var modified: Double
    public var changed: Double
    /// nil when the filesystem reports no birth time.
    public var born: Double?
    public var inode: UInt64
    public var device: UInt64
    public var uid: UInt32
    public var gid: UInt32

    init(_ raw: vs_stat) {
        kind = EntryKind(mode: raw.mode)
        mode = raw.mode
        size = raw.size
        modified = Double(raw.mtime_sec) + Double(raw.mtime_nsec) / 1e9
        changed = Double(raw.ctime_sec) + Double(raw.ctime_nsec) / 1e9
        born = raw.has_btime != 0 ? Double(raw.btime_sec) + Double(raw.btime_nsec) / 1e9 : nil
        inode = raw.ino
        device = raw.dev
        uid = raw.uid
        gid = raw.gid
    }

    /// The file's "placed on disk" time for `source`, and whether it had to fall back to mtime.
    public func placed(_ source: AgeSource) -> (time: Double, fellBack: Bool) {
        switch source {
        case .mtime: return (modified, false)
        case .btime:
            if let born { return (born, false) }
            return (modified, true)
        }
    }

    /// statx(dirfd, name, AT_SYMLINK_NOFOLLOW); `name` empty means the descriptor itself.
    /// Returns the errno on failure.
    public static func read(directory fd: Int32, name: UnsafePointer<CChar>, wantBirthTime: Bool) -> Result<FileMetadata, Errno> {
        Sys.stat(fd, name, wantBirthTime: wantBirthTime).mapError(\.errno)
    }

    /// statx on a path (relative to the working directory or absolute), not following a final symlink.
    public static func read(path: String, wantBirthTime: Bool = true) -> Result<FileMetadata, Errno> {
        path.withCString { read(directory: AT_FDCWD, name: $0, wantBirthTime: wantBirthTime) }
    }

    /// statx on an open descriptor.
    public static func read(descriptor fd: Int32, wantBirthTime: Bool = true) -> Result<FileMetadata, Errno> {
        "".withCString { read(directory: fd, name: $0, wantBirthTime: wantBirthTime) }
    }
}
