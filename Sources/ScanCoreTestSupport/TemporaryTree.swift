import CScanSupport
import Glibc
import ScanCore

/// A directory tree in a fresh temp dir that tests fill with files of chosen ages, hostile names
/// and non-regular entries. Removed (recursively, without following symlinks) on deinit.
public final class TemporaryTree: @unchecked Sendable {
    /// Absolute path of the tree's top directory (short, under /tmp, so unix sockets fit).
    public let root: String

    public init(prefix: String = "vst") throws {
        var template = Array("/tmp/\(prefix).XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw FixtureError.errno("cannot create temp dir", "/tmp/\(prefix).XXXXXX")
        }
        root = String(cString: made)
    }

    deinit { TemporaryTree.remove(root) }

    /// `root/relative`.
    public func path(_ relative: String) -> String { relative.isEmpty ? root : root + "/" + relative }

    /// `root/relative` as raw bytes (for names that are not UTF-8), NUL-terminated.
    public func cPath(_ relative: [UInt8]) -> [CChar] {
        var bytes = Array(root.utf8)
        if !relative.isEmpty { bytes.append(UInt8(ascii: "/")); bytes.append(contentsOf: relative) }
        bytes.append(0)
        return bytes.map { CChar(bitPattern: $0) }
    }

    /// Creates directory `relative` and its parents.
    @discardableResult
    public func directory(_ relative: String, mode: mode_t = 0o755) throws -> String {
        try FileOutput.makeDirectory(path(relative))
        if mode != 0o755 { chmod(path(relative), mode) }
        return path(relative)
    }

    /// Creates a regular file of `size` bytes (or `contents`) with the given mtime (epoch seconds),
    /// making parent directories. `relative` may hold any bytes but NUL.
    @discardableResult
    public func file(_ relative: [UInt8], size: Int = 0, contents: [UInt8]? = nil, mtime: Double? = nil) throws -> [CChar] {
        if let slash = relative.lastIndex(of: UInt8(ascii: "/")) {
            let parent = Array(relative[..<slash])
            if let text = String(validating: parent, as: UTF8.self) { try directory(text) } else {
                var partial: [UInt8] = []
                for component in parent.split(separator: UInt8(ascii: "/")) {
                    if !partial.isEmpty { partial.append(UInt8(ascii: "/")) }
                    partial.append(contentsOf: component)
                    let p = cPath(partial)
                    if mkdir(p, 0o755) != 0 && errno != EEXIST { throw FixtureError.errno("mkdir", String(decoding: p.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)) }
                }
            }
        }
        let full = cPath(relative)
        let fd = open(full, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard fd >= 0 else { throw FixtureError.errno("cannot create", String(decoding: full.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)) }
        let data = contents ?? [UInt8](repeating: UInt8(ascii: "x"), count: size)
        var written = 0
        while written < data.count {
            let n = data[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0 { close(fd); throw FixtureError.errno("cannot write", String(decoding: full.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)) }
            written += n
        }
        close(fd)
        if let mtime { try setTimes(relative, mtime: mtime) }
        return full
    }

    @discardableResult
    public func file(_ relative: String, size: Int = 0, contents: [UInt8]? = nil, mtime: Double? = nil) throws -> String {
        _ = try file(Array(relative.utf8), size: size, contents: contents, mtime: mtime)
        return path(relative)
    }

    /// Sets atime and mtime of `relative` (not following a symlink).
    public func setTimes(_ relative: [UInt8], mtime: Double) throws {
        let seconds = mtime.rounded(.down)
        let spec = timespec(tv_sec: Int(seconds), tv_nsec: Int(((mtime - seconds) * 1e9).rounded()))
        var times = [spec, spec]
        let full = cPath(relative)
        guard utimensat(AT_FDCWD, full, &times, AT_SYMLINK_NOFOLLOW) == 0 else {
            throw FixtureError.errno("cannot set times of", String(decoding: full.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
    }

    public func setTimes(_ relative: String, mtime: Double) throws { try setTimes(Array(relative.utf8), mtime: mtime) }

    /// Creates a symlink at `relative` pointing at `target` (not resolved).
    public func symlink(_ relative: String, to target: String) throws {
        guard Glibc.symlink(target, path(relative)) == 0 else { throw FixtureError.errno("cannot symlink", path(relative)) }
    }

    /// Creates a FIFO at `relative`.
    public func fifo(_ relative: String) throws {
        guard vs_mkfifoat(AT_FDCWD, path(relative), 0o644) == 0 else { throw FixtureError.errno("cannot mkfifo", path(relative)) }
    }

    /// Creates a unix socket file at `relative` (bound, then the descriptor closed; the file stays).
    public func socket(_ relative: String) throws {
        let fd = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw FixtureError.errno("socket", relative) }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path(relative).utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { throw FixtureError("socket path too long: \(path(relative))") }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in bytes.enumerated() { raw[index] = byte }
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard result == 0 else { throw FixtureError.errno("bind", path(relative)) }
    }

    /// Makes a character device node (needs CAP_MKNOD; returns false where the sandbox forbids it).
    public func characterDevice(_ relative: String) -> Bool {
        mknod(path(relative), S_IFCHR | 0o600, dev_t((1 << 8) | 3)) == 0
    }

    /// Removes `path` recursively without following symlinks (making directories writable first).
    public static func remove(_ path: String) {
        remove(raw: Array(path.utf8CString))
    }

    private static func remove(raw: [CChar]) {
        var info = stat()
        guard lstat(raw, &info) == 0 else { return }
        if (info.st_mode & S_IFMT) == S_IFDIR {
            chmod(raw, 0o700)
            guard let dir = opendir(raw) else { rmdir(raw); return }
            var names: [[CChar]] = []
            while let entry = readdir(dir) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    Array(raw.bindMemory(to: CChar.self).prefix { $0 != 0 })
                }
                if name == [0x2E] || name == [0x2E, 0x2E] { continue }
                names.append(name)
            }
            closedir(dir)
            for name in names {
                var child = Array(raw.dropLast())
                child.append(0x2F)
                child.append(contentsOf: name)
                child.append(0)
                remove(raw: child)
            }
            rmdir(raw)
        } else {
            unlink(raw)
        }
    }
}

/// Runs `body` on a new thread whose filesystem uid is `uid` (65534, nobody, by default), so a test
/// running as root sees permission errors as an unprivileged scanner would. Only that thread is
/// affected; the walk inside must use one thread.
public func withFilesystemUID(_ uid: UInt32 = 65534, _ body: @escaping @Sendable () -> Void) {
    let thread = JoinableThread {
        let previous = vs_thread_setfsuid(uid)
        body()
        _ = vs_thread_setfsuid(UInt32(previous))
    }
    thread.start()
    thread.join()
}

/// A plain pthread a test starts and joins: for a blocking call the test interrupts from outside
/// (a signal to another process), or per-thread state (`setfsuid`) that Swift concurrency's
/// shared threads must not carry.
public final class JoinableThread: @unchecked Sendable {
    private let body: @Sendable () -> Void
    private var handle = pthread_t()

    public init(_ body: @escaping @Sendable () -> Void) { self.body = body }

    public func start() {
        let context = Unmanaged.passRetained(self).toOpaque()
        pthread_create(&handle, nil, { raw in
            let thread = Unmanaged<JoinableThread>.fromOpaque(raw!).takeRetainedValue()
            thread.body()
            return nil
        }, context)
    }

    public func join() { pthread_join(handle, nil) }
}

/// A value set from another thread (test helper for `withFilesystemUID`).
public final class ResultBox<T>: @unchecked Sendable {
    public var value: T?
    public init() {}
}
