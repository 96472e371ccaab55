import Glibc
@testable import ScanCore
import ScanCoreTestSupport
import Testing

/// The system-call seam: EINTR retry, the fault hook and its scoping, and the primitives built on
/// it (AtomicFile, LockFile, Directories, DirectoryReader), on real files in a temp dir.
@Suite("System seam")
struct SystemSeamTests {
    @Test("an injected EINTR is retried: the call then succeeds and the fault fired exactly count times")
    func eintrRetried() throws {
        let tree = try TemporaryTree(prefix: "sys")
        let path = try tree.file("a", contents: Array("hello".utf8))
        let fault = SystemFaults.inject(.read, errno: EINTR, count: 3, under: tree.root)
        defer { fault.remove() }
        #expect(try readFileBytes(path) == Array("hello".utf8))
        #expect(fault.fired == 3)
    }

    @Test("a fault matches only its own paths, fires count times, and is gone once removed")
    func faultScoping() throws {
        let mine = try TemporaryTree(prefix: "sys")
        let other = try TemporaryTree(prefix: "sys")
        let minePath = try mine.file("f", contents: [1, 2, 3])
        let otherPath = try other.file("f", contents: [4, 5, 6])
        let fault = SystemFaults.inject(.open, errno: EACCES, count: 1, under: mine.root)
        // Another test's tree is untouched.
        #expect(try readFileBytes(otherPath) == [4, 5, 6])
        #expect(fault.fired == 0)
        // Ours fails once, with the injected errno, then works again.
        #expect(throws: Errno(EACCES)) { try readFileBytes(minePath) }
        #expect(fault.fired == 1)
        #expect(try readFileBytes(minePath) == [1, 2, 3])
        // A removed fault never fires.
        let again = SystemFaults.inject(.open, errno: EIO, count: 5, under: mine.root)
        again.remove()
        #expect(try readFileBytes(minePath) == [1, 2, 3])
        #expect(again.fired == 0)
        // A prefix that stops inside a name does not match ("<root>" is not under "<root minus its last character>").
        let sibling = SystemFaults.inject(.open, errno: EIO, count: 1, under: String(mine.root.dropLast()))
        defer { sibling.remove() }
        #expect(try readFileBytes(minePath) == [1, 2, 3])
        #expect(sibling.fired == 0)
    }

    @Test("SystemError names the call, the path and the errno")
    func errorText() {
        let error = SystemError(.fsync, path: "/srv/clean", errno: Errno(EIO))
        #expect(error.description == "fsync /srv/clean: Input/output error (errno 5)")
        #expect(SystemError(.write, path: nil, errno: Errno(ENOSPC)).description == "write: No space left on device (errno 28)")
        #expect(errnoText(ENOENT) == "No such file or directory (errno 2)")
        #expect(Errno(ENOENT).description == errnoText(ENOENT))
        #expect(Errno.notRegularFile.description == "not a regular file (a FIFO, socket, device or directory)")
    }

    @Test("AtomicFile replaces the content, leaves no temp file, and keeps owner and mode when asked")
    func atomicWrite() throws {
        let tree = try TemporaryTree(prefix: "sys")
        let path = tree.path("state.json")
        try AtomicFile.write(Array("one\n".utf8), to: path)
        #expect(try readFileBytes(path) == Array("one\n".utf8))
        chmod(path, 0o600)
        try AtomicFile.write(Array("two\n".utf8), to: path, options: AtomicFile.Options(keepOwnerAndMode: true))
        #expect(try readFileBytes(path) == Array("two\n".utf8))
        var info = stat()
        #expect(stat(path, &info) == 0 && info.st_mode & 0o7777 == 0o600)
        #expect(try FileOutput.list(tree.root) == ["state.json"])
    }

    @Test("AtomicFile: ENOSPC on the write leaves the old file intact and no temp file", arguments: [SystemCall.write, .fsync, .rename])
    func atomicWriteFails(call: SystemCall) throws {
        let tree = try TemporaryTree(prefix: "sys")
        let path = tree.path("state.json")
        try AtomicFile.write(Array("old\n".utf8), to: path)
        let fault = SystemFaults.inject(call, errno: ENOSPC, count: 1, under: tree.root)
        defer { fault.remove() }
        do {
            try AtomicFile.write(Array("new\n".utf8), to: path)
            Issue.record("the write should have failed")
        } catch {
            #expect(error.call == call)
            #expect(error.errno == Errno(ENOSPC))
            #expect(error.description.hasPrefix("\(call) \(tree.root)/"))
            #expect(error.description.hasSuffix(": No space left on device (errno 28)"))
        }
        #expect(fault.fired == 1)
        #expect(try readFileBytes(path) == Array("old\n".utf8))
        #expect(try FileOutput.list(tree.root) == ["state.json"])
    }

    @Test("AtomicFile: a failed fsync of the directory after the rename is reported, naming the directory")
    func atomicDirectorySync() throws {
        let tree = try TemporaryTree(prefix: "sys")
        let path = tree.path("state.json")
        let fault = SystemFaults.inject(.fsync, errno: EIO, count: 1) { $0 == tree.root }
        defer { fault.remove() }
        #expect(throws: SystemError(.fsync, path: tree.root, errno: Errno(EIO))) {
            try AtomicFile.write(Array("new\n".utf8), to: path)
        }
        #expect(try readFileBytes(path) == Array("new\n".utf8))
    }

    @Test("LockFile: exclusive, held is .held, released on release(), parent directories created")
    func lockFile() throws {
        let tree = try TemporaryTree(prefix: "sys")
        let path = tree.path("run/deep/q.lock")
        let first = try LockFile.acquire(path, mode: 0o644)
        #expect(first.isHeld)
        #expect(throws: LockFile.Failure.held) { try LockFile.acquire(path, mode: 0o644) }
        try first.record("123\n")
        #expect(try readTextFile(path) == "123\n")
        first.release()
        #expect(!first.isHeld)
        let second = try LockFile.acquire(path, mode: 0o644)
        second.release()
        // An interrupted flock is retried; another errno is cannotLock naming the call.
        let interrupted = SystemFaults.inject(.flock, errno: EINTR, count: 2, under: tree.root)
        defer { interrupted.remove() }
        let third = try LockFile.acquire(path, mode: 0o644)
        #expect(interrupted.fired == 2)
        third.release()
        let broken = SystemFaults.inject(.flock, errno: ENOLCK, count: 1, under: tree.root)
        defer { broken.remove() }
        #expect(throws: LockFile.Failure.cannotLock(SystemError(.flock, path: path, errno: Errno(ENOLCK)))) {
            try LockFile.acquire(path, mode: 0o644)
        }
    }

    @Test("QueueLock keeps its messages on top of LockFile")
    func queueLockMessages() throws {
        let tree = try TemporaryTree(prefix: "sys")
        let path = tree.path("run/incoming.lock")
        let lock = try QueueLock.acquire(path)
        do {
            _ = try QueueLock.acquire(path)
            Issue.record("the second acquire should fail")
        } catch {
            #expect(error.code == .lockHeld)
            #expect(error.message.hasPrefix("lock \(path) is held by pid \(getpid())"))
            #expect(error.message.hasSuffix(": another run is processing this queue; nothing was touched"))
        }
        lock.release()
        let fault = SystemFaults.inject(.open, errno: ENOSPC, count: 1, under: tree.root)
        defer { fault.remove() }
        #expect(throws: RemediationError.self) { try QueueLock.acquire(path) }
    }

    @Test("Directories.makeAll is mkdir -p; a failing mkdir is reported with its path")
    func makeAll() throws {
        let tree = try TemporaryTree(prefix: "sys")
        try Directories.makeAll(tree.path("a/b/c"))
        try Directories.makeAll(tree.path("a/b/c"))
        var info = stat()
        #expect(stat(tree.path("a/b/c"), &info) == 0 && info.st_mode & S_IFMT == S_IFDIR)
        let fault = SystemFaults.inject(.mkdir, errno: EROFS, count: 1, under: tree.root)
        defer { fault.remove() }
        #expect(throws: SystemError(.mkdir, path: tree.path("x"), errno: Errno(EROFS))) {
            try Directories.makeAll(tree.path("x/y"))
        }
        #expect(Directories.parent(of: "/a/b") == "/a")
        #expect(Directories.parent(of: "/a") == "/")
        #expect(Directories.parent(of: "a") == ".")
        #expect(Directories.parent(of: "/a/b/") == "/a")
    }

    @Test("Directories.openBeneath refuses a symlink on the way and creates missing directories")
    func openBeneath() throws {
        let tree = try TemporaryTree(prefix: "sys")
        try tree.directory("root/real")
        try tree.symlink("root/link", to: tree.path("root/real"))
        let root = try Directories.open(tree.path("root"))
        switch Directories.openBeneath(root.rawValue, [Array("link".utf8), Array("x".utf8)], create: true) {
        case .success: Issue.record("a symlink was followed")
        case .failure(let error): #expect(error.errno == Errno(ELOOP) || error.errno == Errno(ENOTDIR))
        }
        let made = try Directories.openBeneath(root.rawValue, [Array("real".utf8), Array("new".utf8)], create: true, mode: 0o750).get()
        defer { close(made) }
        var info = stat()
        #expect(stat(tree.path("root/real/new"), &info) == 0 && info.st_mode & 0o7777 == 0o750)
        #expect(try FileOutput.list(tree.path("root/real")) == ["new"])
    }

    @Test("DirectoryReader lists every name once (beyond one buffer), and reports getdents64 failures")
    func directoryReader() throws {
        let tree = try TemporaryTree(prefix: "sys")
        try tree.directory("d")
        var expected: Set<[UInt8]> = []
        for i in 0..<600 {
            let name = "file-with-a-longish-name-\(i)"
            try tree.file("d/" + name, contents: [])
            expected.insert(Array(name.utf8))
        }
        let directory = try Directories.open(tree.path("d"))
        let names = try DirectoryReader.names(in: directory.rawValue)
        #expect(names.count == 600)
        #expect(Set(names) == expected)
        var kinds: [EntryKind?] = []
        let small = DirectoryReader(bufferSize: 1024)
        try small.forEach(in: directory.rawValue) { kinds.append($0.kind) }
        #expect(kinds.count == 600)
        #expect(kinds.allSatisfy { $0 == .regular || $0 == nil })
        let fault = SystemFaults.inject(.getdents64, errno: EIO, count: 1, under: tree.root)
        defer { fault.remove() }
        #expect(throws: SystemError(.getdents64, path: tree.path("d"), errno: Errno(EIO))) {
            try DirectoryReader.names(in: directory.rawValue, path: tree.path("d"))
        }
    }

    @Test("FileIO.writeAll writes everything; ENOSPC is reported with the call and path")
    func writeAll() throws {
        let tree = try TemporaryTree(prefix: "sys")
        let file = try FileDescriptor.open(tree.path("out"), O_WRONLY | O_CREAT | O_EXCL, mode: 0o644)
        let bytes = (0..<300_000).map { UInt8(truncatingIfNeeded: $0) }
        try file.writeAll(bytes)
        try file.close()
        #expect(try readFileBytes(tree.path("out")) == bytes)
        let again = try FileDescriptor.open(tree.path("out"), O_WRONLY | O_APPEND)
        let fault = SystemFaults.inject(.write, errno: ENOSPC, count: 1, under: tree.root)
        defer { fault.remove() }
        #expect(throws: SystemError(.write, path: tree.path("out"), errno: Errno(ENOSPC))) { try again.writeAll([1, 2, 3]) }
    }
}
