#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization

/// One step of a remediation plan: a command to run and what it should achieve. Plans are built
/// first, printed under `--dry-run`, and executed afterwards; a non-zero exit is data, not an error.
public struct PlannedCommand: Sendable, Hashable, CustomStringConvertible {
    public var executable: String
    public var arguments: [String]
    /// What running it should achieve, for the plan's printout.
    public var effect: String

    public init(executable: String, arguments: [String], effect: String) {
        self.executable = executable
        self.arguments = arguments
        self.effect = effect
    }

    public var description: String { ([executable] + arguments).map(Self.quote).joined(separator: " ") }

    static func quote(_ word: String) -> String {
        if !word.isEmpty && word.allSatisfy({ $0.isLetter || $0.isNumber || "-_./:=@%+,".contains($0) }) { return word }
        return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// The result of running a planned command.
    public struct Outcome: Sendable, Hashable {
        public var exitStatus: Int32
        /// Set when it was killed by a signal.
        public var signal: Int32?
        public var output: String
        public var seconds: Double
        public var succeeded: Bool { exitStatus == 0 && signal == nil }
    }

    /// Runs it with stdin from /dev/null and stdout and stderr captured (merged, into a temp
    /// file: a daemon it starts in the background may keep a pipe open for ever). Throws only
    /// when it cannot be started.
    public func run() throws(RemediationError) -> Outcome {
        let path = executable.hasPrefix("/") ? executable : Self.which(executable) ?? executable
        var template = Array("/tmp/virus_scan-cmd.XXXXXX".utf8CString)
        let outputFD = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        if outputFD < 0 {
            let error = errno
            throw RemediationError(.commandFailed, "cannot create a temp file for the output of \(description): \(RemediationError.text(error))")
        }
        let outputPath = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        unlink(outputPath)
        defer { close(outputFD) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, outputFD, 1)
        posix_spawn_file_actions_adddup2(&actions, outputFD, 2)
        let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let started = MonotonicClock.now()
        let result = posix_spawn(&pid, path, &actions, nil, argv, environ)
        if result != 0 {
            throw RemediationError(.commandFailed, "cannot start \(description): \(RemediationError.text(result))")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let seconds = MonotonicClock.now() - started
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        var offset: off_t = 0
        while bytes.count < 1 << 20 {
            let n = buffer.withUnsafeMutableBytes { pread(outputFD, $0.baseAddress, $0.count, offset) }
            if n <= 0 { break }
            bytes += buffer[0..<n]
            offset += off_t(n)
        }
        let signaled = (status & 0x7f) != 0 && (status & 0x7f) != 0x7f
        let code = signaled ? 128 + (status & 0x7f) : (status >> 8) & 0xff
        return Outcome(exitStatus: code, signal: signaled ? status & 0x7f : nil,
                       output: String(decoding: bytes, as: UTF8.self), seconds: seconds)
    }

    static func which(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin"
        for directory in path.split(separator: ":") where access("\(directory)/\(name)", X_OK) == 0 {
            return "\(directory)/\(name)"
        }
        return nil
    }
}

/// Restarting clamd and waiting for it to answer again.
public enum ClamdRestart {
    /// The default restart command: systemd's when systemd is running (`/run/systemd/system`
    /// exists), else the SysV `service` wrapper.
    public static func defaultCommand(systemdMarker: String = "/run/systemd/system") -> PlannedCommand {
        if access(systemdMarker, F_OK) == 0 {
            return PlannedCommand(executable: "systemctl", arguments: ["restart", "clamav-daemon"], effect: "restart clamd (systemd)")
        }
        return PlannedCommand(executable: "service", arguments: ["clamav-daemon", "restart"], effect: "restart clamd (SysV service)")
    }

    /// A `--command` string, run by `/bin/sh -c`.
    public static func shellCommand(_ text: String) -> PlannedCommand {
        PlannedCommand(executable: "/bin/sh", arguments: ["-c", text], effect: "restart clamd")
    }

    /// What waiting found.
    public struct Wait: Sendable {
        /// Seconds until the first PONG, or nil if none came before the deadline.
        public var secondsToPong: Double?
        public var version: ClamdVersion?
        public var lastError: String?
    }

    /// Polls PING (every 100 ms) until PONG or `deadline` seconds, then asks VERSION.
    public static func waitForPong(_ client: ClamdClient, deadline: Double, settle: Double = 0) -> Wait {
        let started = MonotonicClock.now()
        var lastError: String?
        if settle > 0 { usleep(UInt32(settle * 1_000_000)) }
        while MonotonicClock.now() - started < deadline {
            do {
                _ = try client.ping()
                let seconds = MonotonicClock.now() - started
                let version = try? client.version()
                return Wait(secondsToPong: seconds, version: version, lastError: nil)
            } catch {
                lastError = error.message
            }
            usleep(100_000)
        }
        return Wait(secondsToPong: nil, version: nil, lastError: lastError)
    }
}

/// Editing the ignore list (`whitelist.ign2`) atomically, one editor at a time.
public enum IgnoreListFile {
    public static let defaultName = "whitelist.ign2"

    /// The lock beside the list (`whitelist.ign2.lock`; libclamav skips the extension) that
    /// serialises editors: without it two runs at once read the same list and the second rename
    /// drops the first one's entry.
    public static func lockPath(for path: String) -> String { path + ".lock" }

    /// What an edit did.
    public struct Change: Sendable, Hashable {
        public var path: String
        /// False when the name was already there (add) or absent (remove): the file was not rewritten.
        public var changed: Bool
        public var entries: [String]
    }

    /// Reads the list at `path` (an absent file is an empty list).
    public static func read(_ path: String) throws(RemediationError) -> IgnoreList {
        do { return IgnoreList(parsing: try readTextFile(path)) } catch {
            if error.rawValue == ENOENT { return IgnoreList() }
            throw RemediationError(.io, "cannot read \(path): \(error)")
        }
    }

    /// Adds (or removes) `signature` and rewrites the file atomically (temp in the same
    /// directory, fsync, rename, fsync of the directory), keeping every other line and the file's
    /// mode and owner. Names as a scan reports them (`….UNOFFICIAL`) are stored as the database
    /// writes them.
    public static func edit(_ path: String, adding: String? = nil, removing: String? = nil) throws(RemediationError) -> Change {
        var list = try read(path)
        var changed = false
        if let adding {
            let name = IgnoreList.databaseName(forReported: adding)
            do { changed = try list.add(name) } catch {
                throw RemediationError(.invalidArgument, error.message, cause: error)
            }
        }
        if let removing {
            changed = list.remove(IgnoreList.databaseName(forReported: removing)) || changed
        }
        if changed {
            let text = list.rendered()
            try validate(text)
            try writeAtomically(text, to: path)
        }
        return Change(path: path, changed: changed, entries: list.signatures)
    }

    /// Loads `text` as an ignore list with libclamav (beside one harmless hash signature, in a temp
    /// directory) before it replaces the real list: libclamav rejects a whole .ign2 with a blank or
    /// malformed line, and clamd would then keep its old database while still answering PING and
    /// VERSION — the reload would look verified when it was refused.
    static func validate(_ text: String) throws(RemediationError) {
        var template = Array("/tmp/virus_scan-ign2-check.XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw RemediationError(.io, "cannot create a temp dir to check the ignore list: \(RemediationError.text(errno))")
        }
        let directory = String(cString: made)
        defer {
            unlink(directory + "/" + defaultName)
            unlink(directory + "/check.hdb")
            rmdir(directory)
        }
        func write(_ name: String, _ content: String) -> Bool {
            guard let file = try? FileDescriptor.open(directory + "/" + name, O_WRONLY | O_CREAT | O_TRUNC, mode: 0o644) else { return false }
            return (try? file.writeAll(Array(content.utf8))) != nil && (try? file.close()) != nil
        }
        // The MD5 of "virus-scan ignore-list check\n": matches nothing real.
        guard write("check.hdb", "0f6ea4f8b40f0ce7d3e3e1b1b0b6ad3c:29:VirusScan.IgnoreListCheck\n"),
              write(defaultName, text)
        else { throw RemediationError(.io, "cannot write the ignore list check files in \(directory)") }
        do {
            _ = try ClamAVEngine(databaseDirectory: directory)
        } catch {
            let detail = ([error.message] + error.libclamavMessages).joined(separator: "; ")
            throw RemediationError(
                .invalidArgument,
                "libclamav rejects the resulting ignore list, so clamd would keep its old database; nothing was written (\(detail))",
                cause: error)
        }
    }

    static func writeAtomically(_ text: String, to path: String) throws(RemediationError) {
        do {
            try AtomicFile.write(Array(text.utf8), to: path, options: AtomicFile.Options(keepOwnerAndMode: true))
        } catch where error.call == .open {
            throw RemediationError(.io, "cannot create \(error.path ?? path): \(RemediationError.text(error.errno.rawValue))", cause: error)
        } catch {
            throw RemediationError(.io, "cannot write \(path): \(RemediationError.text(error.errno.rawValue))", cause: error)
        }
    }

    /// Asks clamd to RELOAD and verifies it came back: PONG and VERSION within `deadline`
    /// seconds after the reload was accepted.
    public static func reload(_ client: ClamdClient, deadline: Double = 60) -> (ok: Bool, detail: String, version: ClamdVersion?) {
        do { try client.reload() } catch {
            return (false, "RELOAD failed: \(error.message)", nil)
        }
        let wait = ClamdRestart.waitForPong(client, deadline: deadline, settle: 0.2)
        guard let seconds = wait.secondsToPong else {
            return (false, "clamd did not answer PING within \(Int(deadline)) s after RELOAD (\(wait.lastError ?? "no answer"))", nil)
        }
        guard let version = wait.version else {
            return (false, "clamd answered PING after RELOAD but not VERSION", nil)
        }
        return (true, "clamd reloaded; PONG after \((seconds * 100).rounded() / 100) s; \(version.raw)", version)
    }
}

/// Scanning given files and trees (`scan PATH…`), clamdscan-style.
public enum PathScan {
    public struct Result: Sendable, Hashable {
        /// The path as displayed.
        public var path: String
        public var verdict: ScanVerdict
    }

    /// Expands `paths` (files; directories walked without following symlinks; a symlink named
    /// on the command line is followed, as clamdscan does) and scans every regular file.
    public static func run(_ paths: [String], scanner: any FileScanner, jobs: Int) -> [Result] {
        var files: [String] = []
        var results: [Result] = []
        for path in paths {
            var info = stat()
            if stat(path, &info) != 0 {
                let error = errno
                results.append(Result(path: path, verdict: .error(message: "cannot open: \(RemediationError.text(error))")))
                continue
            }
            if info.st_mode & S_IFMT == S_IFDIR {
                let base = path.hasSuffix("/") ? String(path.dropLast()) : path
                guard let walked = try? DirectoryWalker(threads: 2).walk(root: path, makeVisitor: { DrainCollector() }) else {
                    results.append(Result(path: path, verdict: .error(message: "cannot read the directory")))
                    continue
                }
                for collector in walked {
                    files += collector.files.map { base + "/" + PathEscaping.display($0.path) }
                    results += collector.unreadable.map {
                        Result(path: base + "/" + PathEscaping.display($0.path), verdict: .error(message: "cannot read: \(RemediationError.text($0.errno))"))
                    }
                }
            } else if info.st_mode & S_IFMT == S_IFREG {
                files.append(path)
            } else {
                results.append(Result(path: path, verdict: .error(message: "not a regular file")))
            }
        }
        let list = files.sorted()
        let scanned = Mutex<[Result]>([])
        let next = ManagedCounter()
        DispatchQueue.concurrentPerform(iterations: max(1, min(jobs, list.count))) { _ in
            while true {
                let index = next.next()
                if index >= list.count { break }
                let verdict = scan(list[index], scanner: scanner, followTopLevel: paths.contains(list[index]))
                scanned.withLock { $0.append(Result(path: list[index], verdict: verdict)) }
            }
        }
        return (results + scanned.withLock { $0 }).sorted { $0.path < $1.path }
    }

    static func scan(_ path: String, scanner: any FileScanner, followTopLevel: Bool) -> ScanVerdict {
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC | (followTopLevel ? 0 : O_NOFOLLOW))
        if fd < 0 {
            let error = errno
            return .error(message: "cannot open: \(RemediationError.text(error))")
        }
        defer { close(fd) }
        _ = fcntl(fd, F_SETFL, O_RDONLY)
        return scanner.scan(fileDescriptor: fd, name: path)
    }

    /// `PATH: OK`, `PATH: NAME FOUND`, `PATH: MESSAGE ERROR` (clamdscan's forms).
    public static func line(_ result: Result) -> String {
        switch result.verdict {
        case .clean: "\(result.path): OK"
        case .infected(let signature): "\(result.path): \(signature) FOUND"
        case .error(let message): "\(result.path): \(message) ERROR"
        }
    }
}

/// A shared counter for work distribution.
final class ManagedCounter: @unchecked Sendable {
    private var value = 0
    private let lock = NSLock()
    func next() -> Int {
        lock.lock()
        defer { lock.unlock() }
        value += 1
        return value - 1
    }
}
