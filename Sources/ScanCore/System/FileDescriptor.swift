#if canImport(Glibc)
import Glibc
#endif

/// An open file descriptor that closes itself when the last reference goes (or at ``close()``,
/// which reports what close(2) said). Knows the path it was opened with, for messages.
///
/// Not for sharing between threads while one of them may close it.
public final class FileDescriptor: @unchecked Sendable {
    /// The descriptor number (-1 once closed).
    public private(set) var rawValue: Int32
    /// What it was opened as, escaped for display.
    public let path: String

    /// Takes ownership of `rawValue`.
    public init(owning rawValue: Int32, path: String) {
        self.rawValue = rawValue
        self.path = path
    }

    deinit { if rawValue >= 0 { _ = Glibc.close(rawValue) } }

    /// open(2), retried on EINTR; `O_CLOEXEC` is always added.
    public static func open(_ path: String, _ flags: Int32, mode: mode_t = 0) throws(SystemError) -> FileDescriptor {
        let fd = try Sys.open(path, flags | O_CLOEXEC, mode).get()
        return FileDescriptor(owning: fd, path: PathEscaping.display(Array(path.utf8)))
    }

    /// openat(2) of `name` in `directory`; `O_CLOEXEC` is always added.
    public static func open(_ name: [UInt8], in directory: Int32, _ flags: Int32, mode: mode_t = 0) throws(SystemError) -> FileDescriptor {
        let fd = try Sys.openat(directory, name, flags | O_CLOEXEC, mode).get()
        return FileDescriptor(owning: fd, path: Sys.path(directory, name))
    }

    /// Closes now and reports close(2)'s error (a delayed write error, EIO). Idempotent.
    public func close() throws(SystemError) {
        guard rawValue >= 0 else { return }
        let fd = rawValue
        rawValue = -1
        try Sys.close(fd, path: path).get()
    }

    /// Gives up ownership: the caller closes the returned descriptor.
    public func release() -> Int32 {
        let fd = rawValue
        rawValue = -1
        return fd
    }

    /// Writes all of `bytes` (see ``FileIO/writeAll(_:_:path:)``).
    public func writeAll(_ bytes: some Collection<UInt8>) throws(SystemError) {
        try FileIO.writeAll(rawValue, bytes, path: path)
    }

    /// fsync(2).
    public func sync() throws(SystemError) { try Sys.fsync(rawValue, path: path).get() }

    /// ftruncate(2).
    public func truncate(to length: Int64) throws(SystemError) { try Sys.ftruncate(rawValue, length, path: path).get() }

    /// fchmod(2).
    public func changeMode(_ mode: mode_t) throws(SystemError) { try Sys.fchmod(rawValue, mode, path: path).get() }

    /// fchown(2).
    public func changeOwner(uid: UInt32, gid: UInt32) throws(SystemError) { try Sys.fchown(rawValue, uid, gid, path: path).get() }

    /// flock(2).
    public func lock(_ operation: Int32) throws(SystemError) { try Sys.flock(rawValue, operation, path: path).get() }

    /// statx of the descriptor.
    public func metadata(wantBirthTime: Bool = false) throws(SystemError) -> FileMetadata {
        try Sys.stat(rawValue, [], wantBirthTime: wantBirthTime).mapError { SystemError($0.call, path: path, errno: $0.errno) }.get()
    }
}

/// The full-read and full-write loops: the one place ScanCore turns short reads and writes into
/// whole ones.
public enum FileIO {
    /// Writes every byte of `bytes` at the descriptor's offset, looping over short writes and
    /// EINTR. A write that returns 0 is reported as EIO (it would loop forever).
    public static func writeAll(_ fd: Int32, _ bytes: some Collection<UInt8>, path: String? = nil) throws(SystemError) {
        let result: Result<Void, SystemError> = bytes.withContiguousStorageIfAvailable { buffer in
            writeAll(fd, UnsafeRawBufferPointer(buffer), path: path)
        } ?? Array(bytes).withUnsafeBytes { writeAll(fd, $0, path: path) }
        try result.get()
    }

    /// Writes every byte of `buffer` at the descriptor's offset.
    static func writeAll(_ fd: Int32, _ buffer: UnsafeRawBufferPointer, path: String?) -> Result<Void, SystemError> {
        var offset = 0
        while offset < buffer.count {
            switch Sys.write(fd, buffer.baseAddress! + offset, buffer.count - offset, path: path) {
            case .success(0): return .failure(SystemError(.write, path: path ?? Sys.path(of: fd), errno: Errno(EIO)))
            case .success(let n): offset += n
            case .failure(let error): return .failure(error)
            }
        }
        return .success(())
    }

    /// Reads exactly `count` bytes at `offset` into `buffer`; false when the file ends first.
    public static func readFully(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int64,
                                 path: String? = nil) throws(SystemError) -> Bool {
        var got = 0
        while got < buffer.count {
            let n = try Sys.pread(fd, buffer.baseAddress! + got, buffer.count - got, offset + Int64(got), path: path).get()
            if n == 0 { return false }
            got += n
        }
        return true
    }

    /// Reads from the descriptor's offset to the end; more than `limit` bytes is EFBIG.
    public static func readToEnd(_ fd: Int32, limit: Int = 64 << 20, path: String? = nil) throws(SystemError) -> [UInt8] {
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = try chunk.withUnsafeMutableBytes { raw in Sys.read(fd, raw.baseAddress!, raw.count, path: path) }.get()
            if n == 0 { return result }
            result.append(contentsOf: chunk[0..<n])
            if result.count > limit { throw SystemError(.read, path: path ?? Sys.path(of: fd), errno: Errno(EFBIG)) }
        }
    }
}
