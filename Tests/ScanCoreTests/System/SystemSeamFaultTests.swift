import Glibc
@testable import ScanCore
import ScanCoreTestSupport
import Testing

/// Failure paths of the newer adapters (sockets, inotify, processes, pipes), proved by injecting
/// the errno through `SystemFaults`: by path under the test's temp dir, or with `inTask` for the
/// calls that have none.
@Suite("System seam: sockets, inotify, processes")
struct SystemSeamFaultTests {
    @Test("an inTask fault fires only inside its body, in its own task, and is gone afterwards")
    func inTaskScoping() async throws {
        // Another task (another test, say) making the same call is untouched.
        let other = Task.detached { Sys.pipe() }
        let fired = SystemFaults.inTask(.pipe, errno: EMFILE) { token -> Int in
            if case .failure(let error) = Sys.pipe() {
                #expect(error.description == "pipe: Too many open files (errno 24)")
            } else {
                Issue.record("pipe did not fail")
            }
            return token.fired
        }
        #expect(fired == 1)
        if case .success(let fds) = await other.value { _ = Sys.close(fds.read); _ = Sys.close(fds.write) }
        // After the body, pipe works again.
        let after = try Sys.pipe().get()
        _ = Sys.close(after.read)
        _ = Sys.close(after.write)
    }

    @Test("a refused connect injected on the socket path gives the clamd client's exact error")
    func connectRefused() throws {
        let tree = try TemporaryTree(prefix: "sck")
        let path = tree.path("clamd.sock")
        let fault = SystemFaults.inject(.connect, errno: ECONNREFUSED, count: 2, under: tree.root)
        defer { fault.remove() }
        let client = ClamdClient(endpoint: .unix(path: path))
        #expect(throws: ClamdError.self) { _ = try client.ping() }
        do throws(ClamdError) {
            _ = try client.ping()
        } catch {
            #expect(error.code == .connectionRefused)
            #expect(error.message == "nothing is listening on clamd socket \(path) (a stale socket file?): start or restart clamd")
        }
        #expect(fault.fired == 2)
    }

    @Test("a socket that cannot be created (EMFILE) is reported as such")
    func socketFails() throws {
        let tree = try TemporaryTree(prefix: "sck")
        let path = tree.path("clamd.sock")
        let client = ClamdClient(endpoint: .unix(path: path))
        SystemFaults.inTask(.socket, errno: EMFILE) { _ in
            do throws(ClamdError) {
                _ = try client.ping()
                Issue.record("ping succeeded")
            } catch {
                #expect(error.code == .io)
                #expect(error.message == "cannot create a socket for clamd at \(ClamdEndpoint.unix(path: path)): Too many open files (errno 24)")
            }
        }
    }

    @Test("inotify_init1 failing with EMFILE makes the watcher say why")
    func inotifyFails() throws {
        let fixture = try DrainFixture()
        let configuration = QueueWatcher.Configuration(
            drain: fixture.configuration(lock: false), lockPath: nil, statePath: fixture.tree.path("state/watch.json"),
            stopRequested: { true })
        let watcher = QueueWatcher(configuration: configuration, scanner: try fixture.engine())
        SystemFaults.inTask(.inotifyInit1, errno: EMFILE) { token in
            do throws(RemediationError) {
                try watcher.run(log: { _, _ in })
                Issue.record("the watcher ran")
            } catch {
                #expect(error.message == "cannot start inotify: Too many open files (errno 24)")
            }
            #expect(token.fired == 1)
        }
    }

    @Test("posix_spawn failing makes a planned command report it")
    func spawnFails() throws {
        let tree = try TemporaryTree(prefix: "spn")
        let script = try tree.file("restart.sh", contents: Array("#!/bin/sh\nexit 0\n".utf8))
        chmod(script, 0o755)
        let command = PlannedCommand(executable: script, arguments: ["now"], effect: "restart clamd")
        #expect(try command.run().exitStatus == 0)
        let fault = SystemFaults.inject(.posixSpawn, errno: ENOEXEC, under: tree.root)
        defer { fault.remove() }
        do throws(RemediationError) {
            _ = try command.run()
            Issue.record("the command ran")
        } catch {
            #expect(error.message == "cannot start \(script) now: Exec format error (errno 8)")
        }
        #expect(fault.fired == 1)
    }

    @Test("the stop self-pipe: pipe failing is reported, and made pipes are non-blocking and close-on-exec")
    func selfPipe() throws {
        SystemFaults.inTask(.pipe, errno: ENFILE) { _ in
            guard case .failure(let error) = SelfPipe.make() else { Issue.record("pipe did not fail"); return }
            #expect(error == SystemError(.pipe, path: nil, errno: Errno(ENFILE)))
        }
        let fds = try SelfPipe.make().get()
        defer { _ = Sys.close(fds.read); _ = Sys.close(fds.write) }
        for fd in [fds.read, fds.write] {
            #expect(fcntl(fd, F_GETFL) & O_NONBLOCK != 0)
            #expect(fcntl(fd, F_GETFD) & FD_CLOEXEC != 0)
        }
    }
}
