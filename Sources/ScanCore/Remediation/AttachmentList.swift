#if canImport(Glibc)
import Glibc
#endif

/// Writes the lists of newly clean files that the copy-to-slaves job reads (one absolute path per
/// line), atomically as the legacy scanner did: the list is written under a temp name in the list
/// directory's parent (the job reads every file *in* the list directory, so a half-written file
/// must never be there), fsynced, then renamed into the directory, which is then fsynced.
public struct AttachmentListWriter: Sendable {
    public let directory: String
    public let queue: String
    static let temporaryPrefix = ".virus_scan-list-tmp."

    public init(directory: String, queue: String) {
        self.directory = directory
        self.queue = queue
    }

    private var parent: String {
        guard let slash = directory.dropLast(directory.hasSuffix("/") ? 1 : 0).lastIndex(of: "/") else { return "." }
        return slash == directory.startIndex ? "/" : String(directory[..<slash])
    }

    /// Writes one list file; returns its path. Paths must not contain a newline (the caller
    /// reports those instead).
    public func write(_ paths: [[UInt8]]) throws(RemediationError) -> String {
        precondition(!paths.contains { $0.contains(UInt8(ascii: "\n")) }, "a path with a newline cannot be listed")
        if !QueueLock.makeDirectories(directory) {
            let error = errno
            throw RemediationError(.io, "cannot create the list directory \(directory): \(RemediationError.text(error))")
        }
        var random = SystemRandomNumberGenerator()
        let suffix = String(random.next() as UInt64, radix: 36)
        let temporary = parent + "/" + Self.temporaryPrefix + queue + "." + suffix
        let final = directory + "/attachment_sync_list_" + suffix
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
        if fd < 0 {
            let error = errno
            throw RemediationError(.io, "cannot create \(temporary): \(RemediationError.text(error))")
        }
        var bytes: [UInt8] = []
        for path in paths {
            bytes += path
            bytes.append(UInt8(ascii: "\n"))
        }
        var offset = 0
        var failure: Int32 = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; failure = errno; break }
            offset += n
        }
        if failure == 0 && fsync(fd) != 0 { failure = errno }
        close(fd)
        if failure == 0 && rename(temporary, final) != 0 { failure = errno }
        if failure != 0 {
            unlink(temporary)
            throw RemediationError(.io, "cannot write the list file \(final): \(RemediationError.text(failure))")
        }
        let directoryFD = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryFD >= 0 {
            fsync(directoryFD)
            close(directoryFD)
        }
        return final
    }

    /// Removes this queue's temp list files left by a killed run (call while holding the lock).
    public func removeStaleTemporaries() -> [String] {
        let prefix = Array((Self.temporaryPrefix + queue + ".").utf8)
        let fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd < 0 { return [] }
        defer { close(fd) }
        var removed: [String] = []
        for name in FileSystemCalls.listNames(fd) where name.starts(with: prefix) {
            if FileSystemCalls.withCString(name, { unlinkat(fd, $0, 0) }) == 0 {
                removed.append(parent + "/" + PathEscaping.display(name))
            }
        }
        return removed
    }
}
