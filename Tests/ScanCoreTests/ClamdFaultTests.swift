#if canImport(Glibc)
import Glibc
#endif
import ScanCore
import ScanCoreTestSupport
import Testing

/// Every way reaching clamd can fail is a distinct ClamdError with a message naming the endpoint
/// and what to do. Missing and stale sockets and refused ports are real; a daemon that never
/// answers, garbage and a reply cut short come from FakeClamd.
@Suite("clamd faults")
struct ClamdFaultTests {
    static let short = ClamdClient.Timeouts(connect: .milliseconds(500), command: .milliseconds(500), scan: .milliseconds(500))

    @Test("a missing socket file is socketMissing")
    func socketMissing() throws {
        let directory = try ClamdProcess.makeTemporaryDirectory(prefix: "/tmp/cfault-")
        defer { ClamdProcess.removeDirectory(directory) }
        let path = directory + "/clamd.sock"
        let client = ClamdClient(endpoint: .unix(path: path), timeouts: Self.short)
        let message = "clamd socket \(path) does not exist: is clamd running, and is LocalSocket in clamd.conf this path?"
        expectClamdError(.socketMissing, message) { () throws(ClamdError) in try client.ping() }
        expectClamdError(.socketMissing, message) { () throws(ClamdError) in try client.scanInstream(bytes: [1, 2, 3]) }
        do {
            try client.ping()
        } catch {
            #expect((error.cause as? Errno) == Errno(ENOENT))
            #expect(error.description == message)
            #expect(error.detailedDescription.hasPrefix("\(message)\n  code: socket missing\n  cause: No such file or directory (errno 2)\n  at: ScanCore/ClamdConnection.swift:"))
        }
    }

    @Test("a socket file nobody listens on is connectionRefused")
    func staleSocket() throws {
        let directory = try ClamdProcess.makeTemporaryDirectory(prefix: "/tmp/cfault-")
        defer { ClamdProcess.removeDirectory(directory) }
        let path = directory + "/clamd.sock"
        try FakeClamd.makeStaleSocket(at: path)
        let client = ClamdClient(endpoint: .unix(path: path), timeouts: Self.short)
        expectClamdError(
            .connectionRefused, "nothing is listening on clamd socket \(path) (a stale socket file?): start or restart clamd"
        ) { () throws(ClamdError) in try client.version() }
    }

    @Test("a socket this user may not write to is permissionDenied")
    func permissionDenied() throws {
        let fake = try FakeClamd(.garbage)
        #expect(chmod(fake.socketPath, 0o600) == 0)
        let client = ClamdClient(endpoint: fake.endpoint, timeouts: Self.short)
        let outcome = ResultBox<Result<Duration, ClamdError>>()
        withFilesystemUID {  // as "nobody": root's CAP_DAC_OVERRIDE is dropped on this thread
            outcome.value = Result { () throws(ClamdError) in try client.ping() }
        }
        let result = try #require(outcome.value)
        expectClamdError(
            .permissionDenied,
            "permission denied connecting to clamd at unix:\(fake.socketPath): run as a user allowed on the socket (clamd.conf LocalSocketGroup/LocalSocketMode)"
        ) { () throws(ClamdError) in try result.get() }
        #expect(fake.connectionsAccepted == 0)
    }

    @Test("a closed TCP port is connectionRefused")
    func refusedPort() throws {
        let port = try ClamdProcess.freeLoopbackPort()
        let client = ClamdClient(endpoint: .tcp(host: "127.0.0.1", port: port), timeouts: Self.short)
        expectClamdError(
            .connectionRefused,
            "connection to clamd at tcp:127.0.0.1:\(port) refused: is clamd running with TCPSocket/TCPAddr set to this address?"
        ) { () throws(ClamdError) in try client.ping() }
    }

    @Test("a daemon that accepts and never answers times out within the deadline",
          arguments: [ClamdCommand.ping, .version, .stats, .reload])
    func neverAnswers(command: ClamdCommand) throws {
        let fake = try FakeClamd(.neverAnswer)
        let client = ClamdClient(endpoint: fake.endpoint, timeouts: Self.short)
        let message = "clamd at unix:\(fake.socketPath) accepted the connection but did not answer \(command.rawValue) within 0.5 s: it may be hung or overloaded (check clamd's log, clamdtop)"
        let (_, elapsed) = measure {
            expectClamdError(.timedOut, message) { () throws(ClamdError) in
                switch command {
                case .ping: _ = try client.ping()
                case .version: _ = try client.version()
                case .stats: _ = try client.stats()
                default: try client.reload()
                }
            }
        }
        #expect(elapsed >= 0.5)
        #expect(elapsed < 0.5 + 1.5)  // the deadline, plus scheduling slack on a loaded CI machine
        #expect(fake.connectionsAccepted == 1)
    }

    @Test("a scan clamd never answers times out within the scan deadline")
    func scanNeverAnswers() throws {
        let fake = try FakeClamd(.neverAnswer)
        let client = ClamdClient(endpoint: fake.endpoint, timeouts: Self.short)
        let (_, elapsed) = measure {
            expectClamdError(
                .timedOut,
                "clamd at unix:\(fake.socketPath) accepted the connection but did not answer INSTREAM within 0.5 s: it may be hung or overloaded (check clamd's log, clamdtop)"
            ) { () throws(ClamdError) in try client.scanInstream(bytes: Array("hello".utf8)) }
        }
        #expect(elapsed >= 0.5 && elapsed < 2.0)
    }

    @Test("a daemon that stops reading a large stream times out while sending")
    func streamNotRead() throws {
        let fake = try FakeClamd(.neverAnswer)
        let client = ClamdClient(endpoint: fake.endpoint, timeouts: Self.short)
        let (_, elapsed) = measure {
            expectClamdError(
                .timedOut,
                "clamd at unix:\(fake.socketPath) stopped reading INSTREAM data for 0.5 s: it may be hung or overloaded (check clamd's log, clamdtop)"
            ) { () throws(ClamdError) in try client.scanInstream(bytes: [UInt8](repeating: 7, count: 16 << 20)) }
        }
        #expect(elapsed >= 0.5 && elapsed < 2.0)
    }

    @Test("a session on a daemon that never answers times out")
    func sessionNeverAnswers() throws {
        let fake = try FakeClamd(.neverAnswer)
        let session = try ClamdClient(endpoint: fake.endpoint, timeouts: Self.short).session()
        let (_, elapsed) = measure {
            expectClamdError(
                .timedOut,
                "clamd at unix:\(fake.socketPath) accepted the connection but did not answer FILDES within 0.5 s: it may be hung or overloaded (check clamd's log, clamdtop)"
            ) { () throws(ClamdError) in try session.scanFildes(fileDescriptor: 0) }
        }
        #expect(elapsed >= 0.5 && elapsed < 2.0)
    }

    @Test("a complete reply that is not clamd's is malformedReply")
    func garbage() throws {
        let fake = try FakeClamd(.garbage)
        let client = ClamdClient(endpoint: fake.endpoint, timeouts: Self.short)
        let prefix = "clamd at unix:\(fake.socketPath) answered"
        let suffix = "is this endpoint really clamd?"
        expectClamdError(.malformedReply, "\(prefix) PING with \"HELLO FROM NOT-CLAMD\" (expected PONG): \(suffix)") {
            () throws(ClamdError) in try client.ping()
        }
        expectClamdError(
            .malformedReply, "\(prefix) VERSION with \"HELLO FROM NOT-CLAMD\" (expected \"ClamAV VERSION[/DAILY/DATE]\"): \(suffix)"
        ) { () throws(ClamdError) in try client.version() }
        expectClamdError(.malformedReply, "\(prefix) STATS with \"HELLO FROM NOT-CLAMD\" (expected \"POOLS: …\"): \(suffix)") {
            () throws(ClamdError) in try client.stats()
        }
        expectClamdError(.malformedReply, "\(prefix) RELOAD with \"HELLO FROM NOT-CLAMD\" (expected RELOADING): \(suffix)") {
            () throws(ClamdError) in try client.reload()
        }
        expectClamdError(
            .malformedReply,
            "\(prefix) INSTREAM with \"HELLO FROM NOT-CLAMD\" (expected \"stream: OK\", \"… FOUND\" or \"… ERROR\"): \(suffix)"
        ) { () throws(ClamdError) in try client.scanInstream(bytes: EICAR.bytes) }
        expectClamdError(
            .malformedReply,
            "\(prefix) FILDES with \"HELLO FROM NOT-CLAMD\" (expected \"stream: OK\", \"… FOUND\" or \"… ERROR\"): \(suffix)"
        ) { () throws(ClamdError) in try client.scanFildes(fileDescriptor: 0) }
    }

    @Test("a session reply without its request number is malformedReply")
    func sessionGarbage() throws {
        let fake = try FakeClamd(.garbage)
        let session = try ClamdClient(endpoint: fake.endpoint, timeouts: Self.short).session()
        expectClamdError(
            .malformedReply,
            "clamd at unix:\(fake.socketPath) answered PING (request 1 of a session) with \"HELLO FROM NOT-CLAMD\": expected \"1: …\""
        ) { () throws(ClamdError) in try session.ping() }
    }

    @Test("an error reply to a command is commandFailed")
    func rejected() throws {
        let fake = try FakeClamd(.reply(Array("UNKNOWN COMMAND".utf8) + [0]))
        let client = ClamdClient(endpoint: fake.endpoint, timeouts: Self.short)
        expectClamdError(
            .commandFailed,
            "clamd at unix:\(fake.socketPath) rejected STATS: \"UNKNOWN COMMAND\"; check the clamd version and its log"
        ) { () throws(ClamdError) in try client.stats() }
    }

    @Test("a reply cut short is connectionClosed, with what arrived")
    func cutShort() throws {
        let fake = try FakeClamd(.cutShort)
        let client = ClamdClient(endpoint: fake.endpoint, timeouts: Self.short)
        expectClamdError(
            .connectionClosed,
            "clamd at unix:\(fake.socketPath) closed the connection in the middle of its reply to VERSION (16 bytes: \"ClamAV 1.4.6/275\"): check clamd's log for a crash or restart"
        ) { () throws(ClamdError) in try client.version() }
        expectClamdError(
            .connectionClosed,
            "clamd at unix:\(fake.socketPath) closed the connection in the middle of its reply to INSTREAM (16 bytes: \"ClamAV 1.4.6/275\"): check clamd's log for a crash or restart"
        ) { () throws(ClamdError) in try client.scanInstream(bytes: [UInt8](repeating: 1, count: 4 << 20)) }
    }

    @Test("a daemon that closes at once is connectionClosed without a reply")
    func closesImmediately() throws {
        let fake = try FakeClamd(.closeImmediately)
        let client = ClamdClient(endpoint: fake.endpoint, timeouts: Self.short)
        for command in [ClamdCommand.ping, .instream] {
            expectClamdError(
                .connectionClosed,
                "clamd at unix:\(fake.socketPath) closed the connection without answering \(command.rawValue): check clamd's log (a crash, a restart, or a limit such as MaxConnectionQueueLength)"
            ) { () throws(ClamdError) in
                if command == .ping { _ = try client.ping() } else { _ = try client.scanInstream(bytes: [UInt8](repeating: 1, count: 1 << 20)) }
            }
        }
    }

    @Test("FILDES over TCP is unsupported, before connecting")
    func fildesOverTCP() throws {
        let client = ClamdClient(endpoint: .tcp(host: "127.0.0.1", port: 9), timeouts: Self.short)
        let message = "FILDES passes a file descriptor and needs clamd's unix socket, but tcp:127.0.0.1:9 is TCP: use INSTREAM, or connect to clamd's LocalSocket"
        expectClamdError(.unsupported, message) { () throws(ClamdError) in try client.scanFildes(fileDescriptor: 0) }
        expectClamdError(.unsupported, message) { () throws(ClamdError) in try client.scanFildes(path: "/etc/hostname") }
    }

    @Test("a file that cannot be opened for scanning is an I/O error naming it")
    func unreadableFile() throws {
        let client = ClamdClient(endpoint: .unix(path: "/nonexistent/clamd.sock"), timeouts: Self.short)
        expectClamdError(.io, "cannot open /nonexistent/file.pdf to scan: No such file or directory (errno 2)") {
            () throws(ClamdError) in try client.scanInstream(path: "/nonexistent/file.pdf")
        }
    }

    @Test("an unresolvable host is an I/O error naming it")
    func unresolvable() throws {
        let client = ClamdClient(endpoint: .tcp(host: "clamd.invalid", port: 3310), timeouts: Self.short)
        do {
            try client.ping()
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .io)
            #expect(error.message.hasPrefix("cannot resolve clamd host clamd.invalid for tcp:clamd.invalid:3310: "))
            #expect(error.message.hasSuffix(": check the host name"))
        }
    }
}
