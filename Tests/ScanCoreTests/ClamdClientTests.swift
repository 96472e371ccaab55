#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import ScanCore
import ScanCoreTestSupport
import Testing

/// The client against a real clamd 1.4.6 (SharedClamd: the small test database plus a daily.cud,
/// StreamMaxLength 1 MiB, unix socket and TCP).
@Suite("ClamdClient against a real clamd")
struct ClamdClientTests {
    enum Sample: String, CaseIterable, Sendable {
        case clean, eicar, eicarZip, dailyMarker

        func path(_ samples: SharedClamd.Samples) -> String {
            switch self {
            case .clean: samples.clean
            case .eicar: samples.eicar
            case .eicarZip: samples.eicarZip
            case .dailyMarker: samples.dailyMarker
            }
        }

        var verdict: ScanVerdict {
            switch self {
            case .clean: .clean
            case .eicar, .eicarZip: .infected(signature: SignatureFixtures.reportedEicar)
            case .dailyMarker: .infected(signature: UnsignedDailyDatabase.reportedSignature)
            }
        }
    }

    @Test("PING answers PONG and reports the round trip")
    func ping() throws {
        let clamd = try SharedClamd.get()
        let roundTrip = try clamd.process.client().ping()
        #expect(roundTrip > .zero)
        #expect(roundTrip < .seconds(2))
    }

    @Test("VERSION reports the engine and the test daily database's version and build time")
    func version() throws {
        let clamd = try SharedClamd.get()
        let version = try clamd.process.client().version()
        #expect(version.engineVersion == "1.4.6")
        #expect(version.databaseVersion == TestDaily.version)
        #expect(version.databaseBuildTime == TestDaily.buildTime)
        #expect(version.raw.hasPrefix("ClamAV 1.4.6/\(TestDaily.version)/"))
    }

    @Test("INSTREAM of a file gives its verdict", arguments: Sample.allCases)
    func instreamPath(sample: Sample) throws {
        let clamd = try SharedClamd.get()
        #expect(try clamd.process.client().scanInstream(path: sample.path(clamd.samples)) == sample.verdict)
    }

    @Test("INSTREAM in small chunks gives the same verdicts", arguments: Sample.allCases)
    func instreamSmallChunks(sample: Sample) throws {
        let clamd = try SharedClamd.get()
        let client = ClamdClient(endpoint: clamd.process.endpoint, chunkSize: 7)
        let bytes = try FileOutput.read(sample.path(clamd.samples))
        #expect(try client.scanInstream(bytes: bytes) == sample.verdict)
    }

    @Test("FILDES of a file gives its verdict", arguments: Sample.allCases)
    func fildesPath(sample: Sample) throws {
        let clamd = try SharedClamd.get()
        #expect(try clamd.process.client().scanFildes(path: sample.path(clamd.samples)) == sample.verdict)
    }

    @Test("INSTREAM of nothing is clean")
    func instreamEmpty() throws {
        let clamd = try SharedClamd.get()
        #expect(try clamd.process.client().scanInstream(bytes: []) == .clean)
    }

    @Test("a stream over StreamMaxLength is an error verdict, never clean")
    func streamMaxLength() throws {
        let clamd = try SharedClamd.get()
        let client = clamd.process.client()
        #expect(try client.scanInstream(path: clamd.samples.large) == .error(message: ClamdReply.sizeLimitExceeded))
        #expect(try client.scanInstream(bytes: [UInt8](repeating: 0x41, count: SharedClamd.streamMaxLength + 1))
                == .error(message: "INSTREAM size limit exceeded."))
        // FILDES has no stream limit: clamd reads the file itself.
        #expect(try client.scanFildes(path: clamd.samples.large) == .clean)
    }

    @Test("over TCP: PING, VERSION and INSTREAM; FILDES is refused")
    func tcp() throws {
        let clamd = try SharedClamd.get()
        let endpoint = try #require(clamd.process.tcpEndpoint)
        let client = ClamdClient(endpoint: endpoint)
        try client.ping()
        #expect(try client.version().databaseVersion == TestDaily.version)
        #expect(try client.scanInstream(path: clamd.samples.eicarZip) == .infected(signature: SignatureFixtures.reportedEicar))
        #expect(try client.scanInstream(path: clamd.samples.clean) == .clean)
        #expect(try client.scanInstream(path: clamd.samples.large) == .error(message: "INSTREAM size limit exceeded."))
        expectClamdError(
            .unsupported,
            "FILDES passes a file descriptor and needs clamd's unix socket, but \(endpoint) is TCP: use INSTREAM, or connect to clamd's LocalSocket"
        ) { () throws(ClamdError) in try client.scanFildes(path: clamd.samples.eicar) }
    }

    @Test("a session scans many files over one connection, in order")
    func session() throws {
        let clamd = try SharedClamd.get()
        let session = try clamd.process.client().session()
        defer { session.close() }
        try session.ping()
        for sample in Sample.allCases {
            #expect(try session.scanFildes(path: sample.path(clamd.samples)) == sample.verdict)
            #expect(try session.scanInstream(path: sample.path(clamd.samples)) == sample.verdict)
        }
        let stats = try session.stats()
        #expect(stats.threadsMax == 2)
        try session.ping()
    }

    @Test("a session goes on after an error verdict (clamd ends the session; the next command reconnects)")
    func sessionAfterError() throws {
        let clamd = try SharedClamd.get()
        let session = try clamd.process.client().session()
        defer { session.close() }
        #expect(try session.scanInstream(path: clamd.samples.large) == .error(message: "INSTREAM size limit exceeded."))
        #expect(try session.scanInstream(path: clamd.samples.eicar) == .infected(signature: SignatureFixtures.reportedEicar))
        #expect(try session.scanFildes(path: clamd.samples.clean) == .clean)
    }

    @Test("one client used from 8 threads at once gives every verdict right")
    func concurrentUse() throws {
        let clamd = try SharedClamd.get()
        let client = clamd.process.client()
        let samples = clamd.samples
        let cases = (0..<32).map { Sample.allCases[$0 % Sample.allCases.count] }
        let results = ResultsBox(count: cases.count)
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            for index in stride(from: worker, to: cases.count, by: 8) {
                let path = cases[index].path(samples)
                let verdict = index % 2 == 0 ? try? client.scanFildes(path: path) : try? client.scanInstream(path: path)
                results.set(index, verdict)
            }
        }
        #expect(results.values == cases.map { Optional($0.verdict) })
    }
}

/// A real clamd of its own for STATS (exact thread figures need a daemon no other test uses) and
/// RELOAD (which makes clamd reload its database).
@Suite("clamd STATS and RELOAD against a real clamd", .serialized)
struct ClamdAdminTests {
    static let instance = Result {
        try ClamdProcess(ClamdProcess.Configuration(maxThreads: 3)) { database in
            try SignatureFixtures.writeSmall(to: database)
        }
    }

    @Test("STATS parses the fields of a quiet daemon")
    func stats() throws {
        let clamd = try Self.instance.get()
        let stats = try clamd.client().stats()
        #expect(stats.pools == 1)
        #expect(stats.state == "VALID PRIMARY")
        #expect(stats.threadsLive == 1)
        #expect(stats.threadsIdle == 0)
        #expect(stats.threadsMax == 3)
        #expect(stats.threadsIdleTimeout == 30)
        #expect(stats.queueItems == 0)
        #expect(stats.jobs.map(\.command) == ["STATS"])
        #expect(stats.memory.pools == 1)
        #expect((stats.memory.poolsUsed ?? 0) > 1_048_576)
        #expect((stats.memory.poolsTotal ?? 0) >= (stats.memory.poolsUsed ?? .infinity))
        #expect(stats.raw.hasSuffix("\nEND"))
    }

    @Test("RELOAD answers RELOADING, then PING and scans work on the reloaded database")
    func reload() throws {
        let clamd = try Self.instance.get()
        let client = clamd.client()
        try client.reload()
        try client.ping()
        #expect(try client.scanInstream(bytes: EICAR.bytes) == .infected(signature: SignatureFixtures.reportedEicar))
        #expect(try client.version().databaseVersion == nil)
        #expect(clamd.isRunning)
    }
}

/// Verdicts written from several threads.
final class ResultsBox: @unchecked Sendable {
    private var storage: [ScanVerdict?]
    private let lock = NSLockLike()
    init(count: Int) { storage = Array(repeating: nil, count: count) }
    func set(_ index: Int, _ value: ScanVerdict?) { lock.locked { storage[index] = value } }
    var values: [ScanVerdict?] { lock.locked { storage } }
}

/// A pthread mutex (no Foundation).
final class NSLockLike: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    init() { pthread_mutex_init(&mutex, nil) }
    deinit { pthread_mutex_destroy(&mutex) }
    func locked<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return body()
    }
}
