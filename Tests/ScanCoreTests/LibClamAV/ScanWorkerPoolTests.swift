import Glibc
import ScanCore
import ScanCoreTestSupport
import Synchronization
import Testing

/// Worker processes forked from a real libclamav engine (the small fixture database): verdicts,
/// sharing between threads, and the faults a process can have that a thread cannot (killed while
/// idle, stopped, killed mid-scan), injected with real signals.
@Suite("ScanWorkerPool")
struct ScanWorkerPoolTests {
    static func fixture(limits: ScanLimits = .default) throws
        -> (tree: TemporaryTree, engine: ClamAVEngine, samples: [(path: String, signature: String?)])
    {
        let tree = try TemporaryTree(prefix: "vspool")
        try SignatureFixtures.writeSmall(to: tree.path("db"))
        let samples = try SignatureFixtures.writeSamples(to: tree.path("samples"))
        return (tree, try ClamAVEngine(databaseDirectory: tree.path("db"), limits: limits), samples)
    }

    static func scan(_ pool: ScanWorkerPool, _ path: String) throws -> ScanVerdict {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        try #require(fd >= 0, "open \(path)")
        defer { close(fd) }
        return pool.scan(fileDescriptor: fd, name: path)
    }

    /// The state letter of `pid` (`S`, `T`, `Z`…), nil when it is gone.
    static func state(_ pid: pid_t) -> Character? { ProcessStatus(pid)?.state }

    static func cpuTicks(_ pid: pid_t) -> Int { ProcessStatus(pid)?.cpuTicks ?? -1 }

    /// Waits (up to 10 s) until `condition` holds.
    static func wait(_ what: String, _ condition: () -> Bool) throws {
        for _ in 0..<2000 {
            if condition() { return }
            usleep(5_000)
        }
        Issue.record("timed out waiting for \(what)")
        throw PoolTestError.timedOut
    }

    enum PoolTestError: Error { case timedOut }

    @Test func workersGiveTheEnginesVerdicts() throws {
        let (tree, engine, samples) = try Self.fixture()
        defer { withExtendedLifetime(tree) {} }
        let pool = try ScanWorkerPool(engine: engine, workers: 2)
        #expect(pool.workerCount == 2)
        let pids = pool.processIDs
        #expect(pids.count == 2 && !pids.contains(getpid()))
        #expect(samples.count == 8)
        for sample in samples {
            let expected: ScanVerdict = sample.signature.map { .infected(signature: $0) } ?? .clean
            #expect(try Self.scan(pool, sample.path) == expected, "\(sample.path)")
            #expect(try Self.scan(pool, sample.path) == engine.scan(path: sample.path), "\(sample.path)")
        }
        #expect(ProcessStatus.name(pids[0]) == "scan-worker")
        #expect(pool.processIDs == pids)
    }

    @Test func limitsApplyInTheWorkers() throws {
        let (tree, engine, _) = try Self.fixture(limits: ScanLimits(maxFileSize: 1000))
        let pool = try ScanWorkerPool(engine: engine, workers: 1)
        let big = try tree.file("big.txt", contents: [UInt8](repeating: UInt8(ascii: "a"), count: 5000))
        #expect(try Self.scan(pool, big) == .error(message: "size limit exceeded (Heuristics.Limits.Exceeded.MaxFileSize)"))
        #expect(try Self.scan(pool, tree.path("samples/eicar.zip")) == .infected(signature: SignatureFixtures.reportedEicar))
    }

    @Test func descriptorIsScannedFromItsStart() throws {
        let (tree, engine, _) = try Self.fixture()
        let pool = try ScanWorkerPool(engine: engine, workers: 1)
        let fd = open(tree.path("samples/eicar.com"), O_RDONLY | O_CLOEXEC)
        try #require(fd >= 0)
        defer { close(fd) }
        #expect(lseek(fd, 30, SEEK_SET) == 30)
        #expect(pool.scan(fileDescriptor: fd, name: "eicar.com") == .infected(signature: SignatureFixtures.reportedEicar))
        #expect(pool.scan(fileDescriptor: fd, name: "") == .infected(signature: SignatureFixtures.reportedEicar))
    }

    @Test func unscannableDescriptorIsAnError() throws {
        let (tree, engine, _) = try Self.fixture()
        defer { withExtendedLifetime(tree) {} }
        let pool = try ScanWorkerPool(engine: engine, workers: 1)
        var pipeEnds: [Int32] = [0, 0]
        try #require(pipe(&pipeEnds) == 0)
        defer { close(pipeEnds[0]); close(pipeEnds[1]) }
        #expect(pool.scan(fileDescriptor: pipeEnds[0], name: "a pipe")
                == .error(message: "scan failed: cannot rewind the file: Illegal seek"))
        #expect(pool.processIDs.count == 1)
    }

    /// Four threads, two workers, gzip files among the samples: libclamav inflates each into a
    /// temporary file named from rand(). The workers inherit the parent's rand() state (the
    /// parent scans a gzip first, so libclamav no longer reseeds on its own), and each worker
    /// reseeds it: without that, both draw the same names at once and clobber each other's files.
    @Test func threadsShareTheWorkers() async throws {
        let (tree, engine, samples) = try Self.fixture()
        var paths = samples.map { (path: $0.path, expected: $0.signature.map { ScanVerdict.infected(signature: $0) } ?? .clean) }
        for index in 0..<60 {
            var data = Array("nothing to see in \(index)\n".utf8) + [UInt8](repeating: UInt8(ascii: "x"), count: 50_000)
            if index % 3 == 0 { data = EICAR.bytes }
            let path = try tree.file("gz/\(index).gz", contents: Archives.gzip(data))
            paths.append((path, index % 3 == 0 ? .infected(signature: SignatureFixtures.reportedEicar) : .clean))
        }
        #expect(engine.scan(path: tree.path("gz/0.gz")) == .infected(signature: SignatureFixtures.reportedEicar))
        let pool = try ScanWorkerPool(engine: engine, workers: 2)
        let before = pool.processIDs
        let results = await ConcurrentScans.run(threads: 4, rounds: 3, cases: paths) {
            (try? Self.scan(pool, $0)) ?? .error(message: "open failed")
        }
        #expect(results.mismatches == [])
        #expect(results.scans == 4 * 3 * 34)
        #expect(pool.processIDs == before)
    }

    @Test func workerKilledWhileIdleIsReplacedBeforeTheFileGoesOut() throws {
        let (tree, engine, _) = try Self.fixture()
        let pool = try ScanWorkerPool(engine: engine, workers: 2)
        let before = pool.processIDs
        for pid in before { kill(pid, SIGKILL) }
        for pid in before { try Self.wait("worker \(pid) to die") { Self.state(pid) == "Z" } }
        #expect(try Self.scan(pool, tree.path("samples/eicar.com")) == .infected(signature: SignatureFixtures.reportedEicar))
        #expect(try Self.scan(pool, tree.path("samples/clean.txt")) == .clean)
        let after = pool.processIDs
        #expect(after.count == 2)
        #expect(Set(after).isDisjoint(with: before))
        // The dead ones were reaped.
        for pid in before { #expect(Self.state(pid) == nil) }
    }

    @Test func stoppedWorkerTimesOutAndIsReplaced() throws {
        let (tree, engine, _) = try Self.fixture()
        let pool = try ScanWorkerPool(engine: engine, workers: 1, scanTimeout: .milliseconds(500))
        let stopped = pool.processIDs[0]
        kill(stopped, SIGSTOP)
        try Self.wait("worker to stop") { Self.state(stopped) == "T" }
        #expect(try Self.scan(pool, tree.path("samples/eicar.com"))
                == .error(message: "scan timed out after 0.5 s (the scanning process was killed)"))
        #expect(Self.state(stopped) == nil)
        #expect(try Self.scan(pool, tree.path("samples/eicar.com")) == .infected(signature: SignatureFixtures.reportedEicar))
        #expect(pool.processIDs.count == 1 && pool.processIDs[0] != stopped)
    }

    @Test func workerKilledMidScanMakesThatFileAnError() throws {
        // A 600 MB sparse file keeps the worker busy long enough to be killed while it scans:
        // the test waits until the worker has used CPU time on it.
        let limits = ScanLimits(maxFileSize: 1 << 30, maxScanSize: 1 << 30)
        let (tree, engine, _) = try Self.fixture(limits: limits)
        let pool = try ScanWorkerPool(engine: engine, workers: 1)
        let worker = pool.processIDs[0]
        let big = tree.path("sparse.bin")
        let fd = open(big, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        try #require(fd >= 0)
        defer { close(fd) }
        try #require(ftruncate(fd, 600 << 20) == 0)
        let idle = Self.cpuTicks(worker)
        let verdict = Mutex<ScanVerdict?>(nil)
        let scanning = JoinableThread { verdict.withLock { $0 = pool.scan(fileDescriptor: fd, name: "sparse.bin") } }
        scanning.start()
        try Self.wait("the worker to start scanning") { Self.cpuTicks(worker) >= idle + 3 }
        kill(worker, SIGKILL)
        scanning.join()
        #expect(verdict.withLock { $0 } == .error(message: "the scanning process died while scanning (killed by signal 9)"))
        #expect(try Self.scan(pool, tree.path("samples/clean.txt")) == .clean)
        #expect(pool.processIDs.count == 1 && pool.processIDs[0] != worker)
    }

    @Test func shutdownEndsAndReapsTheWorkers() throws {
        let (tree, engine, _) = try Self.fixture()
        let pool = try ScanWorkerPool(engine: engine, workers: 2)
        let pids = pool.processIDs
        pool.shutdown()
        for pid in pids { #expect(Self.state(pid) == nil) }
        #expect(pool.processIDs == [])
        #expect(try Self.scan(pool, tree.path("samples/clean.txt")) == .error(message: "the scanner pool is shut down"))
    }
}
