#if canImport(Glibc)
import Glibc
#endif
import CScanSupport

/// Reads the entries of an open directory with getdents64 into a reusable buffer: the one
/// directory reader in ScanCore (the parallel walk, the sorted rescan walk and the temp-file
/// sweeps all use it). `.` and `..` are skipped.
public final class DirectoryReader {
    /// One entry, valid only during the callback (it points into the reader's buffer).
    public struct Entry {
        /// The name's bytes (no NUL).
        public let name: UnsafeBufferPointer<UInt8>
        /// The same name, NUL-terminated, for *at calls.
        public let cName: UnsafePointer<CChar>
        public let inode: UInt64
        /// From d_type; nil for DT_UNKNOWN (the filesystem did not say: stat it).
        public let kind: EntryKind?
    }

    private let buffer: UnsafeMutableRawPointer
    private let size: Int

    /// A reader with a `bufferSize`-byte buffer (one per thread: a reader is not thread-safe).
    public init(bufferSize: Int = 64 * 1024) {
        size = bufferSize
        buffer = UnsafeMutableRawPointer.allocate(byteCount: bufferSize, alignment: 8)
    }

    deinit { buffer.deallocate() }

    /// Calls `body` for every entry of the directory open on `fd`, from its start. Entries read
    /// before a failing getdents64 are delivered, then the error is thrown.
    public func forEach(in fd: Int32, path: String? = nil, _ body: (Entry) -> Void) throws(SystemError) {
        _ = Sys.lseek(fd, 0, SEEK_SET, path: path)
        while true {
            let count = try Sys.getdents64(fd, buffer, size, path: path).get()
            if count == 0 { return }
            var offset = 0
            while offset < count {
                var inode: UInt64 = 0
                var type: UInt8 = 0
                var pointer: UnsafePointer<CChar>? = nil
                var next = 0
                vs_dirent_at(buffer, offset, &inode, &type, &pointer, &next)
                offset = next
                guard let pointer else { continue }
                let length = strlen(pointer)
                if pointer[0] == 0x2E && (length == 1 || (length == 2 && pointer[1] == 0x2E)) { continue }
                let name = UnsafeBufferPointer(start: UnsafeRawPointer(pointer).assumingMemoryBound(to: UInt8.self), count: length)
                body(Entry(name: name, cName: pointer, inode: inode, kind: EntryKind(direntType: type)))
            }
        }
    }

    /// The entries of the directory at `path` (opened, read, closed), names and kinds, in
    /// directory order.
    public static func entries(atPath path: String) throws(SystemError) -> [(name: [UInt8], kind: EntryKind?)] {
        let directory = try Directories.open(path)
        var entries: [(name: [UInt8], kind: EntryKind?)] = []
        try DirectoryReader(bufferSize: 16 * 1024).forEach(in: directory.rawValue, path: directory.path) {
            entries.append((Array($0.name), $0.kind))
        }
        return entries
    }

    /// The names in the directory open on `fd`, in directory order.
    public static func names(in fd: Int32, path: String? = nil) throws(SystemError) -> [[UInt8]] {
        var names: [[UInt8]] = []
        try DirectoryReader(bufferSize: 16 * 1024).forEach(in: fd, path: path) { names.append(Array($0.name)) }
        return names
    }
}
