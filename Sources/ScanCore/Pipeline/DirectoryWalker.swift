#if canImport(Glibc)
import Glibc
#endif
import CScanSupport
import Dispatch

/// A directory the walker is in, as the visitor sees it.
public struct WalkDirectory: Sendable {
    /// Path relative to the walk's root, without a trailing slash; empty for the root itself.
    public var relativePath: [UInt8]
    /// Length of the first path component (the first-level subdirectory), 0 for the root.
    public var firstComponentLength: Int
    /// The parent directory, open: this directory is opened from it by its last name alone, so no
    /// path is ever resolved through a component that may have been swapped for a symlink. nil
    /// only for the root.
    var parent: DirectoryHandle? = nil

    /// The last component of ``relativePath`` (its name in its parent).
    var name: ArraySlice<UInt8> {
        guard let slash = relativePath.lastIndex(of: UInt8(ascii: "/")) else { return relativePath[...] }
        return relativePath[(slash + 1)...]
    }

    /// The first-level subdirectory this directory is in (empty for the root).
    public var firstComponent: ArraySlice<UInt8> { relativePath[0..<firstComponentLength] }

    /// `relativePath/name` as bytes.
    public func child(_ name: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        var path = relativePath
        path.reserveCapacity(relativePath.count + name.count + 1)
        if !path.isEmpty { path.append(UInt8(ascii: "/")) }
        path.append(contentsOf: name)
        return path
    }
}

/// Whether the regular files of a directory need their metadata read.
public enum FileStatPolicy: Sendable {
    /// statx every regular file (ages, sizes).
    case stat
    /// Count regular files from the directory entries' types alone.
    case countOnly
}

/// Receives what one walker thread finds. Each thread gets its own visitor, so visitors need no locks;
/// the results are merged afterwards.
public protocol WalkVisitor {
    /// A directory is about to be read; `metadata` is its own statx. Decides whether files need a stat.
    mutating func enterDirectory(_ directory: WalkDirectory, metadata: FileMetadata?) -> FileStatPolicy
    /// The directory's entries have all been seen.
    mutating func leaveDirectory(_ directory: WalkDirectory)
    /// A regular file; `metadata` is nil under `.countOnly`. `name` is valid only during the call.
    mutating func regularFile(_ directory: WalkDirectory, name: UnsafeBufferPointer<UInt8>, metadata: FileMetadata?)
    /// Anything that is neither a regular file nor a directory (never followed, never counted).
    mutating func anomaly(_ directory: WalkDirectory, name: UnsafeBufferPointer<UInt8>, kind: EntryKind)
    /// A directory that could not be opened or read.
    mutating func unreadable(path: [UInt8], errno: Int32)
}

/// A parallel directory walk over openat/getdents64/statx. It never follows symlinks, holds only
/// the directories still to visit (never all paths), and treats entries that vanish mid-walk (the
/// scanner runs concurrently) as gone, not as errors.
///
/// No symlink is followed in any path component, even when a directory is swapped for a symlink
/// during the walk: every directory is opened by its name alone relative to its parent's open
/// descriptor (`openat(parent, name, O_DIRECTORY | O_NOFOLLOW)`), never by a multi-component path.
/// A directory swapped for a symlink after its parent was listed fails with ELOOP/ENOTDIR and is
/// reported as what it is now; the directories already open stay the ones that were listed.
public struct DirectoryWalker: Sendable {
    public var threads: Int
    public var wantBirthTime: Bool

    public init(threads: Int = 2, wantBirthTime: Bool = false) {
        self.threads = max(1, threads)
        self.wantBirthTime = wantBirthTime
    }

    /// Walks the tree at `root` and returns one visitor per thread.
    /// Throws only when the root itself cannot be opened.
    public func walk<V: WalkVisitor>(root: String, makeVisitor: () -> V) throws(PipelineError) -> [V] {
        let rootFD = Sys.openRaw(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if rootFD < 0 { throw PipelineError.openingQueue(root, errno: Glibc.errno) }
        defer { _ = Sys.close(rootFD) }

        let queue = WorkQueue()
        queue.push([WalkDirectory(relativePath: [], firstComponentLength: 0)])
        let visitors = VisitorSlots((0..<threads).map { _ in makeVisitor() })
        let wantBirthTime = self.wantBirthTime
        let walk: @Sendable (Int) -> Void = { index in
            var visitor = visitors.take(index)
            Self.work(queue: queue, rootFD: rootFD, wantBirthTime: wantBirthTime, visitor: &visitor)
            visitors.put(index, visitor)
        }
        if threads == 1 { walk(0) } else { DispatchQueue.concurrentPerform(iterations: threads, execute: walk) }
        return visitors.values
    }

    private static func work<V: WalkVisitor>(queue: WorkQueue, rootFD: Int32, wantBirthTime: Bool, visitor: inout V) {
        let reader = DirectoryReader()
        var children: [WalkDirectory] = []
        while let directory = queue.pop() {
            children.removeAll(keepingCapacity: true)
            visit(directory, rootFD: rootFD, reader: reader, wantBirthTime: wantBirthTime,
                  visitor: &visitor, children: &children)
            queue.finish(pushing: children)
        }
    }

    private static func visit<V: WalkVisitor>(
        _ directory: WalkDirectory, rootFD: Int32, reader: DirectoryReader,
        wantBirthTime: Bool, visitor: inout V, children: inout [WalkDirectory]
    ) {
        let isRoot = directory.relativePath.isEmpty
        let parentFD = directory.parent?.fd ?? rootFD
        let name = isRoot ? [UInt8(ascii: ".")] : Array(directory.name)
        if !isRoot && directory.parent == nil { return }  // never: every directory but the root has one
        let fd = Sys.openatRaw(parentFD, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        if fd < 0 {
            let error = Glibc.errno
            switch error {
            case ENOENT:
                return  // removed since its parent was read
            case ELOOP, ENOTDIR:
                // Replaced by a symlink or a file since its parent was read: report what it is now
                // (stat by name in the open parent, never through a path).
                guard case .success(let meta) = Sys.stat(parentFD, name).mapError(\.errno) else { return }
                let kind = meta.kind
                if kind == .regular || kind == .directory { return }  // counted on a later walk
                let parent = parentAndName(directory.relativePath)
                parent.name.withUnsafeBufferPointer {
                    visitor.anomaly(parent.directory, name: $0, kind: kind)
                }
                return
            default:
                visitor.unreadable(path: directory.relativePath, errno: error)
                return
            }
        }
        let handle = DirectoryHandle(fd: fd)
        withExtendedLifetime(handle) {
            readEntries(directory, fd: fd, handle: handle, isRoot: isRoot, reader: reader,
                 wantBirthTime: wantBirthTime, visitor: &visitor, children: &children)
        }
    }

    private static func readEntries<V: WalkVisitor>(
        _ directory: WalkDirectory, fd: Int32, handle: DirectoryHandle, isRoot: Bool, reader: DirectoryReader,
        wantBirthTime: Bool, visitor: inout V, children: inout [WalkDirectory]
    ) {
        let ownMetadata: FileMetadata?
        if case .success(let meta) = FileMetadata.read(descriptor: fd, wantBirthTime: false) { ownMetadata = meta } else { ownMetadata = nil }
        let policy = visitor.enterDirectory(directory, metadata: ownMetadata)
        defer { visitor.leaveDirectory(directory) }

        do {
            try reader.forEach(in: fd) { entry in
                let name = entry.name
                let cName = entry.cName
                var kind = entry.kind
                var metadata: FileMetadata? = nil
                if kind == nil || (kind == .regular && policy == .stat) {
                    switch FileMetadata.read(directory: fd, name: cName, wantBirthTime: wantBirthTime) {
                    case .success(let meta):
                        metadata = meta
                        kind = meta.kind
                    case .failure(let error):
                        if error.rawValue == ENOENT { return }  // vanished: the scanner moved it
                        visitor.unreadable(path: directory.child(name), errno: error.rawValue)
                        return
                    }
                }
                switch kind! {
                case .regular:
                    visitor.regularFile(directory, name: name, metadata: policy == .stat ? metadata : nil)
                case .directory:
                    let path = directory.child(name)
                    children.append(WalkDirectory(
                        relativePath: path,
                        firstComponentLength: isRoot ? path.count : directory.firstComponentLength,
                        parent: handle))
                default:
                    visitor.anomaly(directory, name: name, kind: kind!)
                }
            }
        } catch {
            visitor.unreadable(path: directory.relativePath, errno: error.errno.rawValue)
        }
    }

    private static func parentAndName(_ path: [UInt8]) -> (directory: WalkDirectory, name: [UInt8]) {
        guard let slash = path.lastIndex(of: UInt8(ascii: "/")) else {
            return (WalkDirectory(relativePath: [], firstComponentLength: 0), path)
        }
        let parent = Array(path[..<slash])
        let first = parent.firstIndex(of: UInt8(ascii: "/")) ?? parent.count
        return (WalkDirectory(relativePath: parent, firstComponentLength: first), Array(path[(slash + 1)...]))
    }
}

/// The directories still to visit, shared by the walker threads (a LIFO stack, so memory stays
/// proportional to the tree's breadth along one path rather than its size).
final class WorkQueue: Sendable {
    private struct State {
        var stack: [WalkDirectory] = []
        var inProgress = 0
    }

    private let state = ConditionLock(State())

    init() {}

    func push(_ items: [WalkDirectory]) {
        state.withLock(notify: true) { $0.stack.append(contentsOf: items) }
    }

    /// The next directory, or nil once the stack is empty and no thread can add more.
    func pop() -> WalkDirectory? {
        state.withLock(waitingWhile: { $0.stack.isEmpty && $0.inProgress > 0 }) { state in
            guard !state.stack.isEmpty else { return nil }
            state.inProgress += 1
            return state.stack.removeLast()
        }
    }

    /// Marks one popped directory done and adds its subdirectories.
    func finish(pushing children: [WalkDirectory]) {
        state.withLock(notify: true) { state in
            state.stack.append(contentsOf: children)
            state.inProgress -= 1
        }
    }
}

/// One visitor slot per thread; each index is touched by one thread only.
final class VisitorSlots<V>: @unchecked Sendable {
    private let slots: ConditionLock<[V]>
    init(_ values: [V]) { slots = ConditionLock(values) }
    var values: [V] { slots.withLock { $0 } }
    func take(_ index: Int) -> V { slots.withLock { $0[index] } }
    func put(_ index: Int, _ value: V) { slots.withLock { $0[index] = value } }
}
