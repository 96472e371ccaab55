#if canImport(Glibc)
import Glibc
#endif
import CScanSupport

/// A user and group to give moved files and created directories (`--owner USER:GROUP`).
public struct FileOwner: Sendable, Hashable {
    public var uid: UInt32
    public var gid: UInt32

    public init(uid: UInt32, gid: UInt32) {
        self.uid = uid
        self.gid = gid
    }

    /// Parses `USER:GROUP` (names or numbers) against the passwd and group databases.
    public init(parsing text: String) throws(RemediationError) {
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
            throw RemediationError(.invalidArgument, "--owner: expected USER:GROUP, got '\(text)'")
        }
        if let uid = UInt32(parts[0]) { self.uid = uid } else if let entry = getpwnam(parts[0]) {
            self.uid = entry.pointee.pw_uid
        } else {
            throw RemediationError(.invalidArgument, "--owner: no user '\(parts[0])'")
        }
        if let gid = UInt32(parts[1]) { self.gid = gid } else if let entry = getgrnam(parts[1]) {
            self.gid = entry.pointee.gr_gid
        } else {
            throw RemediationError(.invalidArgument, "--owner: no group '\(parts[1])'")
        }
    }
}

/// The identity of a scanned file: what must still be true for the file to be moved.
public struct FileIdentity: Sendable, Hashable {
    public var device: UInt64
    public var inode: UInt64
    public var size: Int64
    public var modified: Double
    public var changed: Double
    /// The access time read before the scan (which may move it), to the nanosecond; nil: take it
    /// from the descriptor at the move. A copy across filesystems gets it back.
    public var accessed: Timestamp?

    /// seconds and nanoseconds, as `timespec` has them.
    public struct Timestamp: Sendable, Hashable {
        public var seconds: Int
        public var nanoseconds: Int
        public init(seconds: Int, nanoseconds: Int) {
            self.seconds = seconds
            self.nanoseconds = nanoseconds
        }
    }

    public init(_ metadata: FileMetadata, accessed: Timestamp? = nil) {
        device = metadata.device
        inode = metadata.inode
        size = metadata.size
        modified = metadata.modified
        changed = metadata.changed
        self.accessed = accessed
    }

    /// Same inode on the same device.
    func sameInode(_ other: FileMetadata) -> Bool { other.device == device && other.inode == inode }
    /// Same inode, size and mtime: the check after a rename or link, which move the ctime themselves.
    func sameFile(_ other: FileMetadata) -> Bool {
        sameInode(other) && other.size == size && other.modified == modified
    }
    /// Same inode, size, mtime and ctime (ctime moves on every write and cannot be set back).
    public func unchanged(_ other: FileMetadata) -> Bool {
        sameInode(other) && other.size == size && other.modified == modified && other.changed == changed
    }
}

/// Moves exactly the inode that was scanned into an outcome tree, never replacing anything.
///
/// - Same filesystem: `renameat2(RENAME_NOREPLACE)`, then a check that the destination names the
///   scanned inode (if the source was swapped in the instant between check and rename, the entry
///   is renamed back and the file stays queued). Where the filesystem cannot do RENAME_NOREPLACE,
///   `linkat` (which never replaces) and then `unlinkat` of the source.
/// - Across filesystems (EXDEV): the scanned descriptor is copied to a temp file named
///   ``temporaryPrefix``… at the top of the destination tree, fsynced, linked into place (never
///   replacing), the temp name removed, the directory fsynced, and only then the source unlinked.
///   A run killed in between leaves either the temp file (removed by the next run, which holds
///   the queue's lock, with ``removeStaleTemporaries(in:queue:)``) or the file in both places
///   (the next run finds identical content at the destination and drops the queued copy). The
///   copy gets the scanned file's mtime and atime (`futimens`) before it is linked into place, so
///   the placed time survives the move and a resumed run finds it already right.
/// - An existing destination: identical content → the queued copy is dropped as done;
///   different → the file stays queued and a conflict is reported. The destination being the
///   queued file itself (same device and inode: an outcome tree that resolves to the queue) is a
///   conflict, never a duplicate: the only copy is never unlinked.
public struct SafeMover: Sendable {
    /// Temp files of cross-filesystem copies start with this, then `<queue>.<pid>.<random>`.
    public static let temporaryPrefix = ".virus_scan-tmp."

    public struct Options: Sendable {
        /// Owner for moved files and created directories; nil keeps the moved file's owner and
        /// gives created directories their parent's owner (when running as root).
        public var owner: FileOwner?
        /// Mode of created directories (the clean tree's 0775).
        public var directoryMode: mode_t
        /// Take the cross-filesystem path even on one filesystem (tests).
        public var simulateCrossDevice: Bool
        /// Take the link+unlink path as where RENAME_NOREPLACE is not supported (tests).
        public var simulateNoRenameNoReplace: Bool

        public init(owner: FileOwner? = nil, directoryMode: mode_t = 0o775, simulateCrossDevice: Bool = false,
                    simulateNoRenameNoReplace: Bool = false) {
            self.owner = owner
            self.directoryMode = directoryMode
            self.simulateCrossDevice = simulateCrossDevice
            self.simulateNoRenameNoReplace = simulateNoRenameNoReplace
        }
    }

    /// What became of a move.
    public enum Result: Sendable, Hashable {
        /// In place at the destination.
        case moved(copied: Bool)
        /// The destination already held identical bytes: the queued copy was removed.
        case droppedDuplicate
        /// The destination holds different content (or is not a regular file): left queued.
        case conflict(String)
        /// The source no longer names the scanned file (replaced or modified): left queued.
        case changed(String)
        /// The source is gone (another process moved it): nothing to do.
        case gone
        /// A system call failed; the file is left queued (or, where said, in both places).
        case failed(String)
    }

    public let options: Options
    /// The queue's name, part of temp names so that queues sharing a tree never touch each other's.
    public let queue: String

    public init(queue: String, options: Options = Options()) {
        self.queue = queue
        self.options = options
    }

    /// Moves `name` in `sourceDirectory` (open on `sourceFD`), open on `fileFD` and identified by
    /// `identity`, to `components` (directories, then the file name) under the tree open on
    /// `destinationRootFD`.
    public func move(sourceDirectoryFD sourceFD: Int32, name: [UInt8], fileFD: Int32, identity: FileIdentity,
                     destinationRootFD rootFD: Int32, components: [[UInt8]]) -> Result {
        let directory: Int32
        switch FileSystemCalls.openDirectories(beneath: rootFD, components.dropLast(), create: true,
                                               mode: options.directoryMode, owner: options.owner) {
        case .success(let fd): directory = fd
        case .failure(let failure): return .failed("cannot create the destination directory: \(failure)")
        }
        defer { if directory != rootFD { close(directory) } }
        let destinationName = components.last!

        if options.simulateCrossDevice { return copyAcross(sourceFD, name, fileFD, identity, rootFD, directory, destinationName) }
        if options.simulateNoRenameNoReplace { return linkThenUnlink(sourceFD, name, identity, directory, destinationName, fileFD) }

        let result = FileSystemCalls.withCString(name) { source in
            FileSystemCalls.withCString(destinationName) { destination in
                vs_rename_noreplace(sourceFD, source, directory, destination)
            }
        }
        if result != 0 {
            let error = errno
            switch error {
            case EEXIST: return resolveExisting(sourceFD, name, fileFD, identity, directory, destinationName)
            case EXDEV: return copyAcross(sourceFD, name, fileFD, identity, rootFD, directory, destinationName)
            case EINVAL, ENOSYS, EOPNOTSUPP: return linkThenUnlink(sourceFD, name, identity, directory, destinationName, fileFD)
            case ENOENT: return .gone
            default: return .failed("rename failed: \(RemediationError.text(error))")
            }
        }
        // The rename took whatever the name held at that instant: make sure it was our inode.
        let now = FileSystemCalls.stat(directory, destinationName)
        guard case .success(let moved) = now, identity.sameFile(moved) else {
            let back = FileSystemCalls.withCString(destinationName) { destination in
                FileSystemCalls.withCString(name) { source in vs_rename_noreplace(directory, destination, sourceFD, source) }
            }
            if back != 0 {
                let error = errno
                return .failed("the entry was replaced between the scan and the move and could not be moved back from the destination: \(RemediationError.text(error)); inspect it by hand")
            }
            return .changed("replaced between the scan and the move; moved back")
        }
        if let owner = options.owner { _ = fchown(fileFD, owner.uid, owner.gid) }
        fsync(directory)
        fsync(sourceFD)
        return .moved(copied: false)
    }

    /// The destination exists: drop the queued copy when it is identical, else report a conflict.
    private func resolveExisting(_ sourceFD: Int32, _ name: [UInt8], _ fileFD: Int32, _ identity: FileIdentity,
                                 _ directory: Int32, _ destinationName: [UInt8]) -> Result {
        if case .success(let existing) = FileSystemCalls.stat(directory, destinationName), identity.sameInode(existing) {
            return .conflict("the destination is the queued file itself (same device and inode): an outcome tree resolves to the queue")
        }
        switch FileSystemCalls.sameContent(fileFD, size: identity.size, directory: directory, name: destinationName) {
        case .success(true):
            return unlinkSource(sourceFD, name, identity, done: .droppedDuplicate)
        case .success(false):
            return .conflict("a different file already exists at the destination")
        case .failure(let failure):
            return .conflict("the destination exists and cannot be compared: \(failure.message)")
        }
    }

    /// Removes the source name if it still names the scanned, unchanged inode.
    private func unlinkSource(_ sourceFD: Int32, _ name: [UInt8], _ identity: FileIdentity, done: Result) -> Result {
        switch FileSystemCalls.stat(sourceFD, name) {
        case .failure(let error):
            if error.rawValue == ENOENT { return done }
            return .failed("placed at the destination, but the queued copy cannot be checked: \(error); it is in both places")
        case .success(let current):
            guard identity.sameFile(current) else {
                return .changed("placed at the destination, but the queued name now holds another file; that one is left for the next run")
            }
        }
        let result = FileSystemCalls.withCString(name) { unlinkat(sourceFD, $0, 0) }
        if result != 0 && errno != ENOENT {
            let error = errno
            return .failed("placed at the destination, but the queued copy cannot be removed: \(RemediationError.text(error)); it is in both places")
        }
        fsync(sourceFD)
        return done
    }

    /// Where RENAME_NOREPLACE is not supported: link (never replaces) then unlink the source.
    private func linkThenUnlink(_ sourceFD: Int32, _ name: [UInt8], _ identity: FileIdentity, _ directory: Int32,
                                _ destinationName: [UInt8], _ fileFD: Int32) -> Result {
        let result = FileSystemCalls.withCString(name) { source in
            FileSystemCalls.withCString(destinationName) { destination in linkat(sourceFD, source, directory, destination, 0) }
        }
        if result != 0 {
            let error = errno
            switch error {
            case EEXIST: return resolveExisting(sourceFD, name, fileFD, identity, directory, destinationName)
            case ENOENT: return .gone
            case EXDEV: return .failed("link across filesystems: \(RemediationError.text(error))")
            default: return .failed("link failed: \(RemediationError.text(error))")
            }
        }
        guard case .success(let linked) = FileSystemCalls.stat(directory, destinationName), identity.sameFile(linked) else {
            _ = FileSystemCalls.withCString(destinationName) { unlinkat(directory, $0, 0) }
            return .changed("replaced between the scan and the move; the link was removed")
        }
        if let owner = options.owner { _ = fchown(fileFD, owner.uid, owner.gid) }
        fsync(directory)
        return unlinkSource(sourceFD, name, identity, done: .moved(copied: false))
    }

    /// Across filesystems: temp copy at the destination tree's top, fsync, link into place, then unlink.
    private func copyAcross(_ sourceFD: Int32, _ name: [UInt8], _ fileFD: Int32, _ identity: FileIdentity,
                            _ rootFD: Int32, _ directory: Int32, _ destinationName: [UInt8]) -> Result {
        var random = SystemRandomNumberGenerator()
        let temporary = Array("\(Self.temporaryPrefix)\(queue).\(getpid()).\(String(random.next() as UInt64, radix: 16))".utf8)
        let tempFD = FileSystemCalls.withCString(temporary) {
            openat(rootFD, $0, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        }
        if tempFD < 0 {
            let error = errno
            return .failed("cannot create a temp file at the destination: \(RemediationError.text(error))")
        }
        var closed = false
        defer { if !closed { close(tempFD) } }
        func discard() { _ = FileSystemCalls.withCString(temporary) { unlinkat(rootFD, $0, 0) } }

        if let message = FileSystemCalls.copy(from: fileFD, to: tempFD, size: identity.size) {
            discard()
            return .failed("copy to the destination filesystem failed: \(message)")
        }
        // The bytes copied must be the bytes scanned.
        guard case .success(let after) = FileMetadata.read(descriptor: fileFD, wantBirthTime: false), identity.unchanged(after) else {
            discard()
            return .changed("changed while being copied")
        }
        var info = stat()
        _ = fstat(fileFD, &info)
        _ = fchmod(tempFD, info.st_mode & 0o7777)
        // The placed time travels with the file: mtime from the descriptor (unchanged since the
        // scan, checked above), atime as read before the scan.
        let accessed = identity.accessed.map { timespec(tv_sec: $0.seconds, tv_nsec: $0.nanoseconds) } ?? info.st_atim
        var times = [accessed, info.st_mtim]
        if futimens(tempFD, &times) != 0 {
            let error = errno
            discard()
            return .failed("cannot set the copy's times: \(RemediationError.text(error))")
        }
        if getuid() == 0 {
            let owner = options.owner ?? FileOwner(uid: info.st_uid, gid: info.st_gid)
            _ = fchown(tempFD, owner.uid, owner.gid)
        }
        if fsync(tempFD) != 0 {
            let error = errno
            discard()
            return .failed("fsync of the copy failed: \(RemediationError.text(error))")
        }
        close(tempFD)
        closed = true
        let linked = FileSystemCalls.withCString(temporary) { temp in
            FileSystemCalls.withCString(destinationName) { destination in linkat(rootFD, temp, directory, destination, 0) }
        }
        let linkError = linked == 0 ? 0 : errno
        discard()
        fsync(rootFD)
        if linked != 0 {
            if linkError == EEXIST { return resolveExisting(sourceFD, name, fileFD, identity, directory, destinationName) }
            return .failed("cannot link the copy into place: \(RemediationError.text(linkError))")
        }
        fsync(directory)
        return unlinkSource(sourceFD, name, identity, done: .moved(copied: true))
    }

    /// Removes this queue's temp files left at the top of `tree` by an interrupted run. Call only
    /// while holding the queue's lock (no other run of this queue can be copying). Returns the
    /// names removed.
    public func removeStaleTemporaries(in tree: String) -> [String] {
        let prefix = Array("\(Self.temporaryPrefix)\(queue).".utf8)
        let fd = open(tree, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd < 0 { return [] }
        defer { close(fd) }
        var removed: [String] = []
        for entry in FileSystemCalls.listNames(fd) where entry.starts(with: prefix) {
            if FileSystemCalls.withCString(entry, { unlinkat(fd, $0, 0) }) == 0 {
                removed.append(PathEscaping.display(entry))
            }
        }
        if !removed.isEmpty { fsync(fd) }
        return removed
    }

    /// Whether a file name is one of the temp files a cross-filesystem move creates (snapshots and
    /// walks of outcome trees should not count these as uploads).
    public static func isTemporary(name: some Collection<UInt8>) -> Bool {
        name.starts(with: Array(temporaryPrefix.utf8))
    }
}

struct ComparisonFailure: Error {
    var message: String
}

/// The few system calls the remediation commands need, with errno turned into values.
enum FileSystemCalls {
    static func withCString<R>(_ bytes: [UInt8], _ body: (UnsafePointer<CChar>) -> R) -> R {
        var copy = bytes
        copy.append(0)
        return copy.withUnsafeBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) { body($0) }
        }
    }

    /// fstatat(AT_SYMLINK_NOFOLLOW).
    static func stat(_ directory: Int32, _ name: [UInt8]) -> Swift.Result<FileMetadata, Errno> {
        withCString(name) { FileMetadata.read(directory: directory, name: $0, wantBirthTime: false) }
    }

    /// Opens `components` one at a time beneath `root` with O_NOFOLLOW (a symlink anywhere is
    /// refused), creating missing directories when `create` is set (mode set explicitly, owner
    /// `owner`, or the parent's when running as root). Returns `root` itself for no components.
    static func openDirectories(beneath root: Int32, _ components: ArraySlice<[UInt8]>, create: Bool,
                                mode: mode_t = 0o775, owner: FileOwner? = nil) -> Swift.Result<Int32, Errno> {
        var current = root
        for component in components {
            var next = withCString(component) { openat(current, $0, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
            if next < 0 && errno == ENOENT && create {
                let made = withCString(component) { mkdirat(current, $0, mode) }
                let madeError = errno
                if made != 0 && madeError != EEXIST {
                    if current != root { close(current) }
                    return .failure(Errno(madeError))
                }
                next = withCString(component) { openat(current, $0, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
                if made == 0 && next >= 0 {
                    _ = fchmod(next, mode)
                    if let owner {
                        _ = fchown(next, owner.uid, owner.gid)
                    } else if geteuid() == 0 {
                        var parent = Glibc.stat()
                        if fstat(current, &parent) == 0 { _ = fchown(next, parent.st_uid, parent.st_gid) }
                    }
                    fsync(current)
                }
            }
            if next < 0 {
                let error = errno
                if current != root { close(current) }
                return .failure(Errno(error))
            }
            if current != root { close(current) }
            current = next
        }
        return .success(current)
    }

    /// Copies `size` bytes from the start of `source` to `destination`; nil or an error message.
    /// `copy_file_range` where the kernel and filesystems can (no bytes through user space,
    /// reflinks where supported), else reads and writes.
    static func copy(from source: Int32, to destination: Int32, size: Int64) -> String? {
        var sourceOffset: Int64 = 0
        var copied: Int64 = 0
        while copied < size {
            let n = vs_copy_file_range(source, &sourceOffset, destination, UInt(min(size - copied, 1 << 30)))
            if n > 0 { copied += Int64(n); continue }
            if n == 0 { break }
            let error = errno
            if error == EINTR { continue }
            if copied == 0 && [EXDEV, ENOSYS, EINVAL, EOPNOTSUPP, EBADF, EPERM].contains(error) { break }  // fall back
            return "copy_file_range: \(RemediationError.text(error))"
        }
        if copied > 0 {
            // The rest (the file grew, or the kernel stopped early) is compared by size below.
            if copied == size {
                var probe: UInt8 = 0
                if pread(source, &probe, 1, off_t(size)) == 0 { return nil }
                return "the file grew while being copied"
            }
            return "copied \(copied) bytes, expected \(size)"
        }
        if lseek(destination, 0, SEEK_SET) < 0 { return "lseek: \(RemediationError.text(errno))" }
        let bufferSize = 1 << 20
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: bufferSize, alignment: 16)
        defer { buffer.deallocate() }
        var offset: Int64 = 0
        while true {
            let got = pread(source, buffer, bufferSize, off_t(offset))
            if got < 0 {
                if errno == EINTR { continue }
                return "read: \(RemediationError.text(errno))"
            }
            if got == 0 { break }
            var written = 0
            while written < got {
                let n = write(destination, buffer + written, got - written)
                if n < 0 {
                    if errno == EINTR { continue }
                    return "write: \(RemediationError.text(errno))"
                }
                written += n
            }
            offset += Int64(got)
        }
        if offset != size { return "copied \(offset) bytes, expected \(size)" }
        return nil
    }

    /// Whether the regular file `name` in `directory` holds exactly the bytes of `fd`.
    static func sameContent(_ fd: Int32, size: Int64, directory: Int32, name: [UInt8]) -> Swift.Result<Bool, ComparisonFailure> {
        let other = withCString(name) { openat(directory, $0, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY) }
        if other < 0 {
            return .failure(ComparisonFailure(message: RemediationError.text(errno)))
        }
        defer { close(other) }
        guard case .success(let meta) = FileMetadata.read(descriptor: other, wantBirthTime: false) else {
            return .failure(ComparisonFailure(message: "cannot stat it"))
        }
        guard meta.kind == .regular else { return .failure(ComparisonFailure(message: "it is a \(meta.kind.rawValue)")) }
        if meta.size != size { return .success(false) }
        let chunk = 1 << 20
        var a = [UInt8](repeating: 0, count: chunk)
        var b = [UInt8](repeating: 0, count: chunk)
        var offset: Int64 = 0
        while offset < size {
            let want = Int(min(Int64(chunk), size - offset))
            guard readFully(fd, &a, want, offset), readFully(other, &b, want, offset) else {
                return .failure(ComparisonFailure(message: "read failed"))
            }
            if a[0..<want] != b[0..<want] { return .success(false) }
            offset += Int64(want)
        }
        return .success(true)
    }

    private static func readFully(_ fd: Int32, _ buffer: inout [UInt8], _ count: Int, _ offset: Int64) -> Bool {
        var got = 0
        while got < count {
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + got, count - got, off_t(offset) + off_t(got)) }
            if n < 0 { if errno == EINTR { continue }; return false }
            if n == 0 { return false }
            got += n
        }
        return true
    }

    /// The names in the directory open on `fd` (without `.` and `..`).
    static func listNames(_ fd: Int32) -> [[UInt8]] {
        let size = 64 * 1024
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 8)
        defer { buffer.deallocate() }
        var names: [[UInt8]] = []
        lseek(fd, 0, SEEK_SET)
        while true {
            let count = vs_getdents64(fd, buffer, UInt(size))
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            var offset = 0
            while offset < count {
                var inode: UInt64 = 0
                var type: UInt8 = 0
                var pointer: UnsafePointer<CChar>? = nil
                var next = 0
                vs_dirent_at(buffer, offset, &inode, &type, &pointer, &next)
                offset = next
                guard let pointer else { continue }
                let bytes = Array(UnsafeBufferPointer(start: UnsafeRawPointer(pointer).assumingMemoryBound(to: UInt8.self), count: strlen(pointer)))
                if bytes == [0x2E] || bytes == [0x2E, 0x2E] { continue }
                names.append(bytes)
            }
        }
        return names
    }
}
