#if canImport(Glibc)
import Glibc
#endif

/// Reads a whole file as bytes (open/read, no Foundation), retrying on EINTR.
public func readFileBytes(_ path: String, limit: Int = 64 << 20) throws(Errno) -> [UInt8] {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    if fd < 0 { throw Errno(errno) }
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
public func readTextFile(_ path: String) throws(Errno) -> String {
    String(decoding: try readFileBytes(path), as: UTF8.self)
}
