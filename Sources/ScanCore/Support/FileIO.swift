#if canImport(Glibc)
import Glibc
#endif

extension Errno {
    /// The path names something other than a regular file (a FIFO, a socket, a device or a
    /// directory): refused before any read, so a FIFO planted where a file is expected can never
    /// hold a reader. Its description says so (it is no kernel errno).
    public static let notRegularFile = Errno(-1)
}

/// Opens `path` read-only for one of our readers (configuration, state, journal, signature
/// databases, ignore lists): `O_NONBLOCK` so that neither the open nor a read can wait on a FIFO or
/// a device, `O_NOCTTY`, `O_CLOEXEC`, `O_NOFOLLOW` unless `followSymlinks` (files we write
/// ourselves have no business being links; operator-managed files such as the layout may be), then
/// `fstat` on the descriptor: anything but a regular file is ``Errno/notRegularFile``. Retries on
/// EINTR. The caller owns (and closes) the descriptor.
public func openRegularFile(_ path: String, followSymlinks: Bool = true) throws(Errno) -> Int32 {
    let flags = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC | (followSymlinks ? 0 : O_NOFOLLOW)
    var fd: Int32
    repeat { fd = open(path, flags) } while fd < 0 && errno == EINTR
    if fd < 0 { throw Errno(errno) }
    var info = stat()
    if fstat(fd, &info) != 0 {
        let saved = errno
        close(fd)
        throw Errno(saved)
    }
    guard (info.st_mode & S_IFMT) == S_IFREG else {
        close(fd)
        throw .notRegularFile
    }
    return fd
}

/// Reads a whole file as bytes (open/read, no Foundation), retrying on EINTR. The file is opened by
/// ``openRegularFile(_:followSymlinks:)``: a FIFO or device in its place is an error, never a hang.
public func readFileBytes(_ path: String, limit: Int = 64 << 20, followSymlinks: Bool = true) throws(Errno) -> [UInt8] {
    let fd = try openRegularFile(path, followSymlinks: followSymlinks)
    defer { close(fd) }
    var result: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 {
            if errno == EINTR { continue }
            throw Errno(errno)
        }
        if n == 0 { break }
        result.append(contentsOf: chunk[0..<n])
        if result.count > limit { throw Errno(EFBIG) }
    }
    return result
}

/// Reads a whole file as UTF-8 text (invalid bytes are replaced).
public func readTextFile(_ path: String, followSymlinks: Bool = true) throws(Errno) -> String {
    String(decoding: try readFileBytes(path, followSymlinks: followSymlinks), as: UTF8.self)
}
