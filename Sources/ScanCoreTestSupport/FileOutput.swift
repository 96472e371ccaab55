import Glibc

/// Errors from the fixture writers: the path and the errno text.
public struct FixtureError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }

    static func errno(_ what: String, _ path: String) -> FixtureError {
        FixtureError("\(what) \(path): \(String(cString: strerror(Glibc.errno)))")
    }
}

/// Writing files and directories with big buffered writes (the synthetic databases run to
/// hundreds of megabytes, so nothing goes through a line-at-a-time API).
public enum FileOutput {
    /// Creates `path` and any missing parents (mode 0755). An existing directory is fine.
    public static func makeDirectory(_ path: String) throws {
        var partial = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            partial += "/" + component
            if mkdir(partial, 0o755) != 0 && Glibc.errno != EEXIST {
                throw FixtureError.errno("cannot create directory", partial)
            }
        }
    }

    /// Writes `bytes` to `path`, replacing it.
    public static func write(_ bytes: [UInt8], to path: String) throws {
        let writer = try BufferedWriter(path: path)
        writer.write(bytes)
        try writer.close()
    }

    /// Writes `text` to `path`, replacing it.
    public static func write(_ text: String, to path: String) throws {
        try write(Array(text.utf8), to: path)
    }

    /// Reads the whole of `path`.
    public static func read(_ path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FixtureError.errno("cannot open", path) }
        defer { close(fd) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if Glibc.errno == EINTR { continue }
                throw FixtureError.errno("cannot read", path)
            }
            if n == 0 { break }
            out.append(contentsOf: chunk[0..<n])
        }
        return out
    }
}

/// A file written through a 4 MiB buffer.
public final class BufferedWriter {
    private let fd: Int32
    private let path: String
    private var buffer: [UInt8] = []
    private var failed: Int32 = 0
    private let capacity = 4 << 20

    public init(path: String) throws {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FixtureError.errno("cannot create", path) }
        buffer.reserveCapacity(capacity)
    }

    public func write<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        buffer.append(contentsOf: bytes)
        if buffer.count >= capacity { flush() }
    }

    public func write(_ text: String) {
        var text = text
        text.withUTF8 { write($0) }
    }

    private func flush() {
        var offset = 0
        buffer.withUnsafeBytes { raw in
            while offset < raw.count, failed == 0 {
                let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if Glibc.errno == EINTR { continue }
                    failed = Glibc.errno
                    return
                }
                offset += n
            }
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes and closes; throws if any write failed.
    public func close() throws {
        flush()
        let rc = Glibc.close(fd)
        if failed != 0 { throw FixtureError("cannot write \(path): \(String(cString: strerror(failed)))") }
        if rc != 0 { throw FixtureError.errno("cannot close", path) }
    }
}

extension FileOutput {
    /// The names in `directory` (without `.` and `..`).
    public static func list(_ directory: String) throws -> [String] {
        guard let dir = opendir(directory) else { throw FixtureError.errno("cannot open directory", directory) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name != ".", name != ".." { names.append(name) }
        }
        return names
    }

    /// Whether `path` is a regular file (following symlinks).
    public static func isRegularFile(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
    }
}
