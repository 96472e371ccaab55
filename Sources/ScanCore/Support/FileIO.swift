#if canImport(Glibc)
import Glibc  // O_* flags only
#endif

/// Opens `path` read-only for one of our readers (configuration, state, journal, signature
/// databases, ignore lists): `O_NONBLOCK` so that neither the open nor a read can wait on a FIFO or
/// a device, `O_NOCTTY`, `O_CLOEXEC`, `O_NOFOLLOW` unless `followSymlinks` (files we write
/// ourselves have no business being links; operator-managed files such as the layout may be), then
/// `fstat` on the descriptor: anything but a regular file is ``Errno/notRegularFile``. Retries on
/// EINTR. The caller owns (and closes) the descriptor.
public func openRegularFile(_ path: String, followSymlinks: Bool = true) throws(Errno) -> Int32 {
    let flags = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC | (followSymlinks ? 0 : O_NOFOLLOW)
    let file = try SystemError.errnoOnly { () throws(SystemError) in try FileDescriptor.open(path, flags) }
    let metadata = try SystemError.errnoOnly { () throws(SystemError) in try file.metadata() }
    guard metadata.kind == .regular else { throw .notRegularFile }
    return file.release()
}

/// Reads a whole file as bytes (open/read, no Foundation), retrying on EINTR. The file is opened by
/// ``openRegularFile(_:followSymlinks:)``: a FIFO or device in its place is an error, never a hang.
public func readFileBytes(_ path: String, limit: Int = 64 << 20, followSymlinks: Bool = true) throws(Errno) -> [UInt8] {
    let file = FileDescriptor(owning: try openRegularFile(path, followSymlinks: followSymlinks), path: path)
    return try SystemError.errnoOnly { () throws(SystemError) in try FileIO.readToEnd(file.rawValue, limit: limit, path: path) }
}

/// Reads a whole file as UTF-8 text (invalid bytes are replaced).
public func readTextFile(_ path: String, followSymlinks: Bool = true) throws(Errno) -> String {
    String(decoding: try readFileBytes(path, followSymlinks: followSymlinks), as: UTF8.self)
}
