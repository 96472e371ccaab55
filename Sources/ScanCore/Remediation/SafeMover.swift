#if canImport(Glibc)
import Glibc  // getpwnam/getgrnam, errno and mode constants, timespec; the calls go through System/
#endif

/// A user and group to give moved files and created directories (`--owner USER:GROUP`).
public struct FileOwner: Sendable, Hashable {
    public var uid: UInt32
    public var gid: UInt32
}

extension FileOwner {
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
    ///
    /// Durability: a move is reported done only once the destination directory is fsynced. If
    /// that fsync fails the move is undone (renamed back, or the new link or copy removed), so
    /// the file stays queued, in one place and unchanged, and the result says which call failed
    /// on which directory and why. A failed fsync of the queue directory after the queued name is
    /// gone cannot lose the file (it is durably at the destination): the worst a crash can then
    /// do is bring the queued name back beside it, which the next run resolves as it resolves a
    /// run killed mid-move (an identical copy is dropped, the same inode is a conflict), so the
    /// move stands; the same-filesystem rename, which can still be undone, is undone instead.
    public func move(sourceDirectoryFD sourceFD: Int32, name: [UInt8], fileFD: Int32, identity: FileIdentity,
                     destinationRootFD rootFD: Int32, components: [[UInt8]]) -> Result {
        let directory: Int32
        let newOwner: Directories.NewOwner = options.owner.map { .given(uid: $0.uid, gid: $0.gid) } ?? .parentsWhenRoot
        switch Directories.openBeneath(rootFD, components.dropLast(), create: true, mode: options.directoryMode, owner: newOwner) {
        case .success(let fd): directory = fd
        case .failure(let failure):
            if failure.call == .openat || failure.call == .mkdirat {
                return .failed("cannot create the destination directory: \(failure.errno)")
            }
            return .failed("cannot create the destination directory: \(failure)")
        }
        defer { if directory != rootFD { _ = Sys.close(directory) } }
        let destinationName = components.last!

        if options.simulateCrossDevice { return copyAcross(sourceFD, name, fileFD, identity, rootFD, directory, destinationName) }
        if options.simulateNoRenameNoReplace { return linkThenUnlink(sourceFD, name, identity, directory, destinationName, fileFD) }

        if case .failure(let failure) = Sys.renameNoReplace(sourceFD, name, directory, destinationName) {
            let error = failure.errno.rawValue
            switch error {
            case EEXIST: return resolveExisting(sourceFD, name, fileFD, identity, directory, destinationName)
            case EXDEV: return copyAcross(sourceFD, name, fileFD, identity, rootFD, directory, destinationName)
            case EINVAL, ENOSYS, EOPNOTSUPP: return linkThenUnlink(sourceFD, name, identity, directory, destinationName, fileFD)
            case ENOENT: return .gone
            default: return .failed("rename failed: \(errnoText(error))")
            }
        }
        // The rename took whatever the name held at that instant: make sure it was our inode.
        let now = Sys.stat(directory, destinationName)
        guard case .success(let moved) = now, identity.sameFile(moved) else {
            if case .failure(let failure) = Sys.renameNoReplace(directory, destinationName, sourceFD, name) {
                return .failed("the entry was replaced between the scan and the move and could not be moved back from the destination: \(errnoText(failure.errno.rawValue)); inspect it by hand")
            }
            return .changed("replaced between the scan and the move; moved back")
        }
        if let owner = options.owner { _ = Sys.fchown(fileFD, owner.uid, owner.gid) }
        if case .failure(let failure) = Sys.fsync(directory).flatMap({ _ in Sys.fsync(sourceFD) }) {
            // Not durably moved: put it back, so the queue still holds it.
            if case .failure(let back) = Sys.renameNoReplace(directory, destinationName, sourceFD, name) {
                return .failed("\(failure) after the rename, and it could not be moved back (\(back)); it is at the destination only")
            }
            _ = Sys.fsync(sourceFD)
            _ = Sys.fsync(directory)
            return .failed("\(failure) after the rename; the move was undone, the file stays queued")
        }
        return .moved(copied: false)
    }

    /// The destination exists: drop the queued copy when it is identical, else report a conflict.
    private func resolveExisting(_ sourceFD: Int32, _ name: [UInt8], _ fileFD: Int32, _ identity: FileIdentity,
                                 _ directory: Int32, _ destinationName: [UInt8]) -> Result {
        if case .success(let existing) = Sys.stat(directory, destinationName), identity.sameInode(existing) {
            return .conflict("the destination is the queued file itself (same device and inode): an outcome tree resolves to the queue")
        }
        switch Self.sameContent(fileFD, size: identity.size, directory: directory, name: destinationName) {
        case .success(true):
            return unlinkSource(sourceFD, name, identity, done: .droppedDuplicate)
        case .success(false):
            return .conflict("a different file already exists at the destination")
        case .failure(let failure):
            return .conflict("the destination exists and cannot be compared: \(failure.message)")
        }
    }

    /// Removes the source name if it still names the scanned, unchanged inode. The file is
    /// durably at the destination by now; a failed fsync of the queue directory afterwards is
    /// no loss (see ``move(sourceDirectoryFD:name:fileFD:identity:destinationRootFD:components:)``).
    private func unlinkSource(_ sourceFD: Int32, _ name: [UInt8], _ identity: FileIdentity, done: Result) -> Result {
        switch Sys.stat(sourceFD, name) {
        case .failure(let failure):
            if failure.errno.rawValue == ENOENT { return done }
            return .failed("placed at the destination, but the queued copy cannot be checked: \(failure.errno); it is in both places")
        case .success(let current):
            guard identity.sameFile(current) else {
                return .changed("placed at the destination, but the queued name now holds another file; that one is left for the next run")
            }
        }
        if case .failure(let failure) = Sys.unlinkat(sourceFD, name), failure.errno.rawValue != ENOENT {
            return .failed("placed at the destination, but the queued copy cannot be removed: \(errnoText(failure.errno.rawValue)); it is in both places")
        }
        _ = Sys.fsync(sourceFD)
        return done
    }

    /// Where RENAME_NOREPLACE is not supported: link (never replaces) then unlink the source.
    private func linkThenUnlink(_ sourceFD: Int32, _ name: [UInt8], _ identity: FileIdentity, _ directory: Int32,
                                _ destinationName: [UInt8], _ fileFD: Int32) -> Result {
        if case .failure(let failure) = Sys.linkat(sourceFD, name, directory, destinationName) {
            let error = failure.errno.rawValue
            switch error {
            case EEXIST: return resolveExisting(sourceFD, name, fileFD, identity, directory, destinationName)
            case ENOENT: return .gone
            case EXDEV: return .failed("link across filesystems: \(errnoText(error))")
            default: return .failed("link failed: \(errnoText(error))")
            }
        }
        guard case .success(let linked) = Sys.stat(directory, destinationName), identity.sameFile(linked) else {
            _ = Sys.unlinkat(directory, destinationName)
            return .changed("replaced between the scan and the move; the link was removed")
        }
        if let owner = options.owner { _ = Sys.fchown(fileFD, owner.uid, owner.gid) }
        if case .failure(let failure) = Sys.fsync(directory) {
            _ = Sys.unlinkat(directory, destinationName)
            _ = Sys.fsync(directory)
            return .failed("\(failure) after the link; the link was removed, the file stays queued")
        }
        return unlinkSource(sourceFD, name, identity, done: .moved(copied: false))
    }

    /// Across filesystems: temp copy at the destination tree's top, fsync, link into place, then unlink.
    private func copyAcross(_ sourceFD: Int32, _ name: [UInt8], _ fileFD: Int32, _ identity: FileIdentity,
                            _ rootFD: Int32, _ directory: Int32, _ destinationName: [UInt8]) -> Result {
        var random = SystemRandomNumberGenerator()
        let temporary = Array("\(Self.temporaryPrefix)\(queue).\(getpid()).\(String(random.next() as UInt64, radix: 16))".utf8)
        let tempFile: FileDescriptor
        do {
            tempFile = try FileDescriptor.open(temporary, in: rootFD, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode: 0o600)
        } catch {
            return .failed("cannot create a temp file at the destination: \(errnoText(error.errno.rawValue))")
        }
        func discard() { _ = Sys.unlinkat(rootFD, temporary) }

        if let message = Self.copy(from: fileFD, to: tempFile.rawValue, size: identity.size) {
            discard()
            return .failed("copy to the destination filesystem failed: \(message)")
        }
        // The bytes copied must be the bytes scanned.
        guard case .success(let after) = FileMetadata.read(descriptor: fileFD, wantBirthTime: false), identity.unchanged(after) else {
            discard()
            return .changed("changed while being copied")
        }
        let info = (try? Sys.fstat(fileFD).get()) ?? Glibc.stat()
        _ = Sys.fchmod(tempFile.rawValue, info.st_mode & 0o7777)
        // The placed time travels with the file: mtime from the descriptor (unchanged since the
        // scan, checked above), atime as read before the scan.
        let accessed = identity.accessed.map { timespec(tv_sec: $0.seconds, tv_nsec: $0.nanoseconds) } ?? info.st_atim
        if case .failure(let failure) = Sys.futimens(tempFile.rawValue, accessed: accessed, modified: info.st_mtim) {
            discard()
            return .failed("cannot set the copy's times: \(errnoText(failure.errno.rawValue))")
        }
        if getuid() == 0 {
            let owner = options.owner ?? FileOwner(uid: info.st_uid, gid: info.st_gid)
            _ = Sys.fchown(tempFile.rawValue, owner.uid, owner.gid)
        }
        do {
            try tempFile.sync()
        } catch {
            discard()
            return .failed("fsync of the copy failed: \(errnoText(error.errno.rawValue))")
        }
        do {
            try tempFile.close()
        } catch {
            discard()
            return .failed("closing the copy failed: \(error)")
        }
        let linked = Sys.linkat(rootFD, temporary, directory, destinationName)
        discard()
        // A temp name that a crash brings back is removed by the next run (removeStaleTemporaries).
        _ = Sys.fsync(rootFD)
        if case .failure(let failure) = linked {
            if failure.errno.rawValue == EEXIST { return resolveExisting(sourceFD, name, fileFD, identity, directory, destinationName) }
            return .failed("cannot link the copy into place: \(errnoText(failure.errno.rawValue))")
        }
        if case .failure(let failure) = Sys.fsync(directory) {
            _ = Sys.unlinkat(directory, destinationName)
            _ = Sys.fsync(directory)
            return .failed("\(failure) after placing the copy; the copy was removed, the file stays queued")
        }
        return unlinkSource(sourceFD, name, identity, done: .moved(copied: true))
    }

    /// Removes this queue's temp files left at the top of `tree` by an interrupted run. Call only
    /// while holding the queue's lock (no other run of this queue can be copying). Returns the
    /// names removed.
    public func removeStaleTemporaries(in tree: String) -> [String] {
        let prefix = Array("\(Self.temporaryPrefix)\(queue).".utf8)
        guard let directory = try? Directories.open(tree) else { return [] }
        var removed: [String] = []
        for entry in (try? DirectoryReader.names(in: directory.rawValue, path: tree)) ?? [] where entry.starts(with: prefix) {
            if case .success = Sys.unlinkat(directory.rawValue, entry) {
                removed.append(PathEscaping.display(entry))
            }
        }
        if !removed.isEmpty { _ = Sys.fsync(directory.rawValue, path: tree) }
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

extension SafeMover {
    /// Copies `size` bytes from the start of `source` to `destination`; nil or an error message.
    /// `copy_file_range` where the kernel and filesystems can (no bytes through user space,
    /// reflinks where supported), else reads and writes.
    static func copy(from source: Int32, to destination: Int32, size: Int64) -> String? {
        var sourceOffset: Int64 = 0
        var copied: Int64 = 0
        while copied < size {
            switch Sys.copyFileRange(from: source, offset: &sourceOffset, to: destination, count: Int(min(size - copied, 1 << 30))) {
            case .success(0): break
            case .success(let n):
                copied += Int64(n)
                continue
            case .failure(let failure):
                let error = failure.errno.rawValue
                if copied == 0 && [EXDEV, ENOSYS, EINVAL, EOPNOTSUPP, EBADF, EPERM].contains(error) { break }  // fall back
                return "copy_file_range: \(errnoText(error))"
            }
            break
        }
        if copied > 0 {
            // The rest (the file grew, or the kernel stopped early) is compared by size below.
            if copied == size {
                var probe: UInt8 = 0
                if case .success(0) = Sys.pread(source, &probe, 1, size) { return nil }
                return "the file grew while being copied"
            }
            return "copied \(copied) bytes, expected \(size)"
        }
        if case .failure(let failure) = Sys.lseek(destination, 0, SEEK_SET) { return "lseek: \(errnoText(failure.errno.rawValue))" }
        let bufferSize = 1 << 20
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: bufferSize, alignment: 16)
        defer { buffer.deallocate() }
        var offset: Int64 = 0
        while true {
            let got: Int
            switch Sys.pread(source, buffer, bufferSize, offset) {
            case .success(let n): got = n
            case .failure(let failure): return "read: \(errnoText(failure.errno.rawValue))"
            }
            if got == 0 { break }
            if case .failure(let failure) = FileIO.writeAll(destination, UnsafeRawBufferPointer(start: buffer, count: got), path: nil) {
                return "write: \(errnoText(failure.errno.rawValue))"
            }
            offset += Int64(got)
        }
        if offset != size { return "copied \(offset) bytes, expected \(size)" }
        return nil
    }

    /// Whether the regular file `name` in `directory` holds exactly the bytes of `fd`.
    static func sameContent(_ fd: Int32, size: Int64, directory: Int32, name: [UInt8]) -> Swift.Result<Bool, ComparisonFailure> {
        let other: FileDescriptor
        do {
            other = try FileDescriptor.open(name, in: directory, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY)
        } catch {
            return .failure(ComparisonFailure(message: errnoText(error.errno.rawValue)))
        }
        guard let meta = try? other.metadata() else {
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
            let same = a.withUnsafeMutableBytes { left in
                b.withUnsafeMutableBytes { right in
                    (try? FileIO.readFully(fd, into: UnsafeMutableRawBufferPointer(rebasing: left[0..<want]), at: offset)) == true
                        && (try? FileIO.readFully(other.rawValue, into: UnsafeMutableRawBufferPointer(rebasing: right[0..<want]), at: offset)) == true
                }
            }
            guard same else { return .failure(ComparisonFailure(message: "read failed")) }
            if a[0..<want] != b[0..<want] { return .success(false) }
            offset += Int64(want)
        }
        return .success(true)
    }
}
