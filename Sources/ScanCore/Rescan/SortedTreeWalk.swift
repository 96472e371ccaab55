#if canImport(Glibc)
import Glibc
#endif

/// Relative paths as raw bytes: the order a pass walks in, and the text the state file keeps.
public enum RescanPath {
    /// Byte order (`memcmp`, shorter first on a common prefix): the order of a pass.
    public static func precedes(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        a.lexicographicallyPrecedes(b)
    }

    /// The inverse of ``PathEscaping/display(_:)``: `\\`, `\n`, `\t`, `\r` and `\xNN` back to bytes.
    /// Returns nil for text `display` cannot produce.
    public static func unescape(_ text: String) -> [UInt8]? {
        let input = Array(text.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(input.count)
        var index = 0
        func hexValue(_ byte: UInt8) -> UInt8? {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
            default: nil
            }
        }
        while index < input.count {
            let byte = input[index]
            guard byte == UInt8(ascii: "\\") else {
                out.append(byte)
                index += 1
                continue
            }
            guard index + 1 < input.count else { return nil }
            switch input[index + 1] {
            case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\")); index += 2
            case UInt8(ascii: "n"): out.append(0x0A); index += 2
            case UInt8(ascii: "t"): out.append(0x09); index += 2
            case UInt8(ascii: "r"): out.append(0x0D); index += 2
            case UInt8(ascii: "x"):
                guard index + 3 < input.count, let high = hexValue(input[index + 2]), let low = hexValue(input[index + 3])
                else { return nil }
                out.append(high << 4 | low)
                index += 4
            default:
                return nil
            }
        }
        return out
    }
}

/// An open directory shared by the entries read from it: closed when the last user lets go.
final class DirectoryHandle: @unchecked Sendable {
    let fd: Int32
    init(fd: Int32) { self.fd = fd }
    deinit { _ = Sys.close(fd) }
}

/// One entry of a walk in byte order.
struct WalkEntry: Sendable {
    /// Path relative to the tree's root.
    var relativePath: [UInt8]
    /// The directory it is in (open), and its name there.
    var parent: DirectoryHandle
    var name: [UInt8]
    /// `.regular`, or what else it is (never followed).
    var kind: EntryKind
}

/// Walks a tree depth-first so that the regular files come out in byte order of their relative
/// paths: each directory's entries are sorted with a directory's key being its name plus `/`, which
/// makes depth-first order and byte order of whole paths the same. Only the directories on the
/// current path are open, and only one directory's names are held at a time per level.
///
/// With a resume point (`checkpoint`), directories whose every path is at or before it are not
/// even opened, and files at or before it are not returned.
struct SortedTreeWalk {
    private struct Frame {
        var directory: DirectoryHandle
        var path: [UInt8]
        var entries: [(name: [UInt8], kind: EntryKind?, key: [UInt8])]
        var index = 0
    }

    private var stack: [Frame] = []
    private var checkpoint: [UInt8]?
    /// Directories that could not be opened or read: `(relative path, errno)`.
    private(set) var problems: [([UInt8], Int32)] = []

    /// Opens the root; throws its errno.
    init(root: String, after checkpoint: [UInt8]?) throws(Errno) {
        let fd = try Sys.open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC).mapError(\.errno).get()
        self.checkpoint = checkpoint
        let handle = DirectoryHandle(fd: fd)
        if let frame = readFrame(handle, path: []) { stack.append(frame) }
    }

    /// The next entry that is not a directory, in byte order; nil at the end.
    mutating func next() -> WalkEntry? {
        while !stack.isEmpty {
            let top = stack.count - 1
            guard stack[top].index < stack[top].entries.count else {
                stack.removeLast()
                continue
            }
            let entry = stack[top].entries[stack[top].index]
            stack[top].index += 1
            let parent = stack[top].directory
            var path = stack[top].path
            if !path.isEmpty { path.append(UInt8(ascii: "/")) }
            path.append(contentsOf: entry.name)
            var kind = entry.kind
            if kind == nil {
                // DT_UNKNOWN: ask the file system (without following a symlink).
                var cName = entry.name.map { CChar(bitPattern: $0) }
                cName.append(0)
                switch FileMetadata.read(directory: parent.fd, name: cName, wantBirthTime: false) {
                case .success(let meta): kind = meta.kind
                case .failure: continue  // vanished
                }
            }
            if kind == .directory {
                var key = path
                key.append(UInt8(ascii: "/"))
                if let checkpoint {
                    if !checkpoint.starts(with: key) && RescanPath.precedes(key, checkpoint) { continue }  // all done
                }
                let fd = Sys.openatRaw(parent.fd, entry.name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                if fd < 0 {
                    let error = errno
                    if error == ENOENT { continue }
                    if error == ELOOP || error == ENOTDIR {
                        // Replaced by a symlink or a file since the listing: report it as what it is now.
                        if case .success(let info) = Sys.stat(parent.fd, entry.name) {
                            let now = info.kind
                            if now != .directory && !isDone(path) {
                                return WalkEntry(relativePath: path, parent: parent, name: entry.name, kind: now)
                            }
                        }
                        continue
                    }
                    problems.append((path, error))
                    continue
                }
                if let frame = readFrame(DirectoryHandle(fd: fd), path: path) { stack.append(frame) }
                continue
            }
            if isDone(path) { continue }
            // Past the resume point: no more comparisons needed.
            checkpoint = nil
            return WalkEntry(relativePath: path, parent: parent, name: entry.name, kind: kind!)
        }
        return nil
    }

    private func isDone(_ path: [UInt8]) -> Bool {
        guard let checkpoint else { return false }
        return !RescanPath.precedes(checkpoint, path)
    }

    private mutating func readFrame(_ handle: DirectoryHandle, path: [UInt8]) -> Frame? {
        var entries: [(name: [UInt8], kind: EntryKind?, key: [UInt8])] = []
        do {
            try DirectoryReader(bufferSize: 32 * 1024).forEach(in: handle.fd) { entry in
                let name = Array(entry.name)
                var key = name
                if entry.kind == .directory || entry.kind == nil { key.append(UInt8(ascii: "/")) }
                entries.append((name, entry.kind, key))
            }
        } catch {
            problems.append((path, error.errno.rawValue))
            if entries.isEmpty { return nil }
        }
        // DT_UNKNOWN entries were keyed as directories; settle their kind now so the order is right.
        for index in entries.indices where entries[index].kind == nil {
            var cName = entries[index].name.map { CChar(bitPattern: $0) }
            cName.append(0)
            if case .success(let meta) = FileMetadata.read(directory: handle.fd, name: cName, wantBirthTime: false) {
                entries[index].kind = meta.kind
                if meta.kind != .directory { entries[index].key = entries[index].name }
            }
        }
        entries.sort { RescanPath.precedes($0.key, $1.key) }
        return Frame(directory: handle, path: path, entries: entries)
    }
}
