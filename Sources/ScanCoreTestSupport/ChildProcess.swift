import CScanSupport
import Glibc
import ScanCore

/// A child process for tests: posix_spawn, stdin from a file or /dev/null, stdout and stderr to
/// temp files, reaped with waitpid on its own pid only.
///
/// Every test suite spawns through this instead of Foundation's `Process`: in one test process that
/// runs many suites in parallel, Foundation's single monitor thread blocks in `waitpid` on any child
/// that closes its inherited descriptors early (daemons do), and from then on no `Process` in the
/// whole test run is ever reaped (`waitUntilExit` hangs, `isRunning` stays true). Output goes to
/// files, never pipes, so no other concurrently spawned child can hold a pipe open.
public final class ChildProcess: @unchecked Sendable {
    public let pid: pid_t
    public let executable: String
    private let outputDirectory: String
    private var status: Int32? = nil
    private var mutex = pthread_mutex_t()

    /// Starts `executable` (an absolute path, or a name looked up in PATH) with `arguments`.
    /// `environment` replaces the environment when given (`extraEnvironment` is added to it or to
    /// the inherited one). Signal mask and SIGTERM/SIGINT/SIGPIPE dispositions are reset.
    public init(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                extraEnvironment: [String: String] = [:], workingDirectory: String? = nil, stdin: String? = nil,
                outputFile: String? = nil, stderrFile: String? = nil) throws {
        self.executable = executable
        outputDirectory = try ClamdProcess.makeTemporaryDirectory(prefix: "/tmp/child-")
        pthread_mutex_init(&mutex, nil)

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, stdin ?? "/dev/null", O_RDONLY, 0)
        if let outputFile {
            // stdout and stderr both to one file the caller reads.
            posix_spawn_file_actions_addopen(&actions, 1, outputFile, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0o644)
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        } else {
            posix_spawn_file_actions_addopen(&actions, 1, outputDirectory + "/stdout", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            if let stderrFile {
                // An existing file, such as a pseudo-terminal's slave side (a terminal on stderr).
                posix_spawn_file_actions_addopen(&actions, 2, stderrFile, O_WRONLY | O_NOCTTY, 0)
            } else {
                posix_spawn_file_actions_addopen(&actions, 2, outputDirectory + "/stderr", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            }
        }
        if let workingDirectory { _ = vs_spawn_actions_addchdir(&actions, workingDirectory) }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGPIPE, SIGHUP, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        var env: [String: String]
        if let environment { env = environment } else {
            env = [:]
            var pointer = environ
            while let entry = pointer.pointee {
                let text = String(cString: entry)
                if let equals = text.firstIndex(of: "=") {
                    env[String(text[..<equals])] = String(text[text.index(after: equals)...])
                }
                pointer += 1
            }
        }
        for (key, value) in extraEnvironment { env[key] = value }
        var envp: [UnsafeMutablePointer<CChar>?] = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        var argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var child: pid_t = 0
        let result = executable.contains("/")
            ? posix_spawn(&child, executable, &actions, &attributes, &argv, &envp)
            : posix_spawnp(&child, executable, &actions, &attributes, &argv, &envp)
        guard result == 0 else {
            ClamdProcess.removeDirectory(outputDirectory)
            throw FixtureError("cannot start \(executable): \(String(cString: strerror(result)))")
        }
        pid = child
    }

    deinit {
        if isRunning {
            kill(pid, SIGKILL)
            _ = wait(timeout: 5)
        }
        ClamdProcess.removeDirectory(outputDirectory)
        pthread_mutex_destroy(&mutex)
    }

    /// Reaps the child if it has exited (waitpid WNOHANG on its pid).
    private func poll() -> Int32? {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        if let status { return status }
        var raw: Int32 = 0
        let result = waitpid(pid, &raw, WNOHANG)
        if result == pid {
            status = raw
        } else if result < 0 && errno == ECHILD {
            status = 0x7f00  // already reaped elsewhere: unknown status
        }
        return status
    }

    public var isRunning: Bool { poll() == nil }

    /// Waits up to `timeout` seconds; the exit code (128 + signal when killed), or nil if still running.
    @discardableResult
    public func wait(timeout: Double) -> Int32? {
        let deadline = MonotonicClock.now() + timeout
        while true {
            if poll() != nil { return exitCode }
            if MonotonicClock.now() >= deadline { return nil }
            usleep(5_000)
        }
    }

    /// The exit code, or 128 + the signal that ended it; nil while running.
    public var exitCode: Int32? {
        guard let raw = poll() else { return nil }
        if raw & 0x7f == 0 { return (raw >> 8) & 0xff }
        return 128 + (raw & 0x7f)
    }

    /// The signal that ended it, if one did.
    public var terminationSignal: Int32? {
        guard let raw = poll(), raw & 0x7f != 0, raw & 0x7f != 0x7f else { return nil }
        return raw & 0x7f
    }

    public func signal(_ signal: Int32) { if isRunning { kill(pid, signal) } }

    // Foundation.Process-shaped conveniences, so tests read the same.
    public var processIdentifier: pid_t { pid }
    /// Waits for the child to end (killing it after `limit` seconds).
    public func waitUntilExit(limit: Double = 600) {
        if wait(timeout: limit) == nil {
            kill(pid, SIGKILL)
            _ = wait(timeout: 10)
        }
    }
    /// The exit code, or the signal number when a signal ended it (as Foundation reports it).
    public var terminationStatus: Int32 {
        guard let raw = poll() else { return -1 }
        return raw & 0x7f == 0 ? (raw >> 8) & 0xff : raw & 0x7f
    }
    public enum TerminationReason: Sendable { case exit, uncaughtSignal }
    public var terminationReason: TerminationReason { terminationSignal == nil ? .exit : .uncaughtSignal }

    /// Sends SIGTERM, waits up to `grace` seconds, then SIGKILL.
    public func stop(grace: Double = 5) {
        guard isRunning else { return }
        kill(pid, SIGTERM)
        if wait(timeout: grace) == nil {
            kill(pid, SIGKILL)
            _ = wait(timeout: 5)
        }
    }

    /// Everything the child wrote to stdout / stderr so far.
    public var stdout: String { String(decoding: (try? FileOutput.read(outputDirectory + "/stdout")) ?? [], as: UTF8.self) }
    public var stderr: String { String(decoding: (try? FileOutput.read(outputDirectory + "/stderr")) ?? [], as: UTF8.self) }
    public var stdoutBytes: [UInt8] { (try? FileOutput.read(outputDirectory + "/stdout")) ?? [] }

    /// Result of `run`.
    public struct Result: Sendable, CustomStringConvertible {
        /// Exit code, 128 + signal, or nil when the time limit ended it (then it was killed).
        public var exitCode: Int32?
        public var stdout: String
        public var stderr: String
        public var timedOut: Bool { exitCode == nil }
        public var description: String { "exit \(exitCode.map(String.init) ?? "timeout")\nstdout:\n\(stdout)\nstderr:\n\(stderr)" }
    }

    /// Runs to completion (killed after `timeout` seconds) and returns its exit code and output.
    public static func run(_ executable: String, _ arguments: [String], timeout: Double = 60,
                           environment: [String: String]? = nil, extraEnvironment: [String: String] = [:],
                           workingDirectory: String? = nil, stdin: String? = nil) throws -> Result {
        let child = try ChildProcess(executable, arguments, environment: environment, extraEnvironment: extraEnvironment,
                                     workingDirectory: workingDirectory, stdin: stdin)
        let code = child.wait(timeout: timeout)
        if code == nil {
            kill(child.pid, SIGKILL)
            _ = child.wait(timeout: 5)
            return Result(exitCode: nil, stdout: child.stdout, stderr: child.stderr)
        }
        return Result(exitCode: code, stdout: child.stdout, stderr: child.stderr)
    }
}
