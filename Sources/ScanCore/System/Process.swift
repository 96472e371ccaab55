// Processes through the seam: posix_spawn (with the file actions a planned command needs),
// waitpid and kill, errno as data, EINTR retried, a fault injectable in debug builds.
// posix_spawn's path is the executable's, so a test can fail the spawn of an executable under its
// temp dir with `SystemFaults.inject(.posixSpawn, errno: ENOEXEC, under: tree.root)`; waitpid and
// kill have none (scope them with `SystemFaults.inTask`).
//
// The exception: the scanning processes of `ScanWorkerPool` are forked in C
// (Sources/CClamAVWorker, `vsw_spawn`: socketpair, fork, and the worker's loop in the child).
// Between fork and the child's end only async-signal-safe calls may run, and Swift code (its
// runtime, allocation, locks) is not, so that fork and everything the child does stay in C. The
// parent's side (waitpid, kill) is here.
#if canImport(Glibc)
import Glibc
#endif

extension Sys {
    /// posix_spawn(3) of `path` with `argv` (argv[0] first) and this process's environment;
    /// stdin from /dev/null and stdout and stderr to `output` when given. The child's pid.
    static func posixSpawn(_ path: String, _ argv: [String], stdinNull: Bool = true, output: Int32? = nil) -> Result<pid_t, SystemError> {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if stdinNull { posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0) }
        if let output {
            posix_spawn_file_actions_adddup2(&actions, output, 1)
            posix_spawn_file_actions_adddup2(&actions, output, 2)
        }
        let pointers: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for pointer in pointers { free(pointer) } }
        var pid: pid_t = 0
        // posix_spawn returns the error number rather than setting errno.
        let result = retrying(.posixSpawn, path) { () -> Int32 in
            let rc = posix_spawn(&pid, path, &actions, nil, pointers, environ)
            if rc != 0 { Glibc.errno = rc; return -1 }
            return 0
        }
        return result.map { _ in pid }
    }

    /// waitpid(2): the pid reaped (0 with WNOHANG while it runs) and its raw status.
    static func waitpid(_ pid: pid_t, _ options: Int32 = 0) -> Result<(pid: pid_t, status: Int32), SystemError> {
        var status: Int32 = 0
        return retrying(.waitpid, nil) { Glibc.waitpid(pid, &status, options) }.map { ($0, status) }
    }

    static func kill(_ pid: pid_t, _ signal: Int32) -> Result<Void, SystemError> {
        retrying(.kill, nil) { Glibc.kill(pid, signal) }.map { _ in () }
    }
}
