#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Scans one open file. Implementations are shared by several threads at once.
///
/// The descriptor is read from its start whatever its current offset (a retry on another daemon
/// must not start where a failed attempt stopped). Transport failures are retried where the
/// implementation can; whatever cannot be scanned is a ``ScanVerdict/error(message:)``, never clean.
public protocol FileScanner: Sendable {
    /// `clamd` or `libclamav`: what the journal records as the engine.
    var engineName: String { get }
    /// A one-line description for output (`clamd at unix:/run/clamav/clamd.ctl`).
    var summary: String { get }
    /// The verdict for the regular file open on `fileDescriptor`; `name` is for messages only.
    func scan(fileDescriptor: Int32, name: String) -> ScanVerdict
    /// How many scans run at once whatever the number of calling threads, when the scanner
    /// bounds that itself (worker processes); nil when each calling thread scans. A caller that
    /// does other work between scans (moving files, fsync) can then keep more threads than this,
    /// so the scanners never wait for it.
    var concurrentScans: Int? { get }
}

extension FileScanner {
    public var concurrentScans: Int? { nil }
}

/// libclamav in-process: one compiled engine, shared either by the scanning threads themselves
/// or, with a ``ScanWorkerPool``, by worker processes forked from it (faster on two cores, and
/// a crash or a runaway scan costs one file, not the command).
public struct LibClamAVScanner: FileScanner {
    public let engine: ClamAVEngine
    /// The worker processes that scan, when there are any.
    public let pool: ScanWorkerPool?

    /// Scans in the calling threads.
    public init(engine: ClamAVEngine) {
        self.engine = engine
        self.pool = nil
    }

    /// Scans in `processes` worker processes forked from `engine`; a file that takes longer than
    /// `scanTimeout` is an error and its worker is replaced.
    public init(engine: ClamAVEngine, processes: Int, scanTimeout: Duration? = nil) throws(ClamAVError) {
        self.engine = engine
        self.pool = try ScanWorkerPool(engine: engine, workers: processes, scanTimeout: scanTimeout)
    }

    /// Loads the databases in `databaseDirectory` once; scans in the calling threads.
    public init(databaseDirectory: String, limits: ScanLimits = .default) throws(ClamAVError) {
        self.engine = try ClamAVEngine(databaseDirectory: databaseDirectory, limits: limits)
        self.pool = nil
    }

    public var engineName: String { "libclamav" }
    public var concurrentScans: Int? { pool?.workerCount }
    public var summary: String {
        let how = pool.map { "in \($0.workerCount) scanning process\($0.workerCount == 1 ? "" : "es")" } ?? "in-process"
        return "libclamav \(ClamAVEngine.libraryVersion) \(how), \(engine.signatureCount) signatures from \(engine.databasePath)"
    }

    public func scan(fileDescriptor: Int32, name: String) -> ScanVerdict {
        if case .failure(let failure) = Sys.lseek(fileDescriptor, 0, SEEK_SET) {
            return .error(message: "cannot rewind \(name): \(RemediationError.text(failure.errno.rawValue))")
        }
        if let pool { return pool.scan(fileDescriptor: fileDescriptor, name: name) }
        return engine.scan(fileDescriptor: fileDescriptor, name: name)
    }
}

/// One or more clamd daemons: FILDES over a unix socket (clamd reads the descriptor we opened),
/// INSTREAM over TCP. Work is spread round-robin over the daemons that answer; a daemon that
/// fails mid-scan (connection refused, closed, timed out) is set aside for a few seconds and the
/// file is retried on the others. Each scanning thread borrows its own session (IDSESSION), so a
/// connection is reused for many files.
public final class ClamdScanner: FileScanner {
    public let endpoints: [ClamdEndpoint]
    private let clients: [ClamdClient]
    /// How long a failed daemon is left out before it is tried again.
    private let retryAfter: Double
    private let state: Mutex<State>

    private struct State: ~Copyable {
        var idle: [[ClamdSession]]
        var downUntil: [Double]
        var lastError: [String?]
        var next = 0
    }

    public init(endpoints: [ClamdEndpoint], timeouts: ClamdClient.Timeouts = ClamdClient.Timeouts(), retryAfter: Double = 5) {
        precondition(!endpoints.isEmpty, "ClamdScanner needs at least one endpoint")
        self.endpoints = endpoints
        self.clients = endpoints.map { ClamdClient(endpoint: $0, timeouts: timeouts) }
        self.retryAfter = retryAfter
        self.state = Mutex(State(idle: endpoints.map { _ in [] }, downUntil: endpoints.map { _ in 0 },
                                 lastError: endpoints.map { _ in nil }))
    }

    deinit {
        let sessions = state.withLock { state in
            let all = state.idle.flatMap { $0 }
            state.idle = state.idle.map { _ in [] }
            return all
        }
        for session in sessions { session.close() }
    }

    public var engineName: String { "clamd" }
    public var summary: String { "clamd at " + endpoints.map(\.description).joined(separator: ", ") }

    /// Closes every idle session (END); later scans open new ones.
    public func closeSessions() {
        let sessions = state.withLock { state in
            let all = state.idle.flatMap { $0 }
            state.idle = state.idle.map { _ in [] }
            return all
        }
        for session in sessions { session.close() }
    }

    public func scan(fileDescriptor: Int32, name: String) -> ScanVerdict {
        var tried = Set<Int>()
        var failures: [String] = []
        while true {
            guard let index = pick(excluding: tried) else {
                let detail = failures.isEmpty
                    ? downEndpoints.map { "\($0.endpoint): \($0.error)" }.joined(separator: "; ")
                    : failures.joined(separator: "; ")
                return .error(message: "no clamd could scan it: \(detail)")
            }
            tried.insert(index)
            let session: ClamdSession
            if let idle = takeIdle(index) {
                session = idle
            } else {
                do { session = try clients[index].session() } catch {
                    markDown(index, error)
                    failures.append("\(endpoints[index]): \(error.message)")
                    continue
                }
            }
            if case .failure(let failure) = Sys.lseek(fileDescriptor, 0, SEEK_SET) {
                giveBack(index, session)
                return .error(message: "cannot rewind \(name): \(RemediationError.text(failure.errno.rawValue))")
            }
            do {
                let verdict = endpoints[index].canPassFileDescriptors
                    ? try session.scanFildes(fileDescriptor: fileDescriptor)
                    : try session.scanInstream(fileDescriptor: fileDescriptor)
                giveBack(index, session)
                return verdict
            } catch {
                session.close()
                markDown(index, error)
                failures.append("\(endpoints[index]): \(error.message)")
            }
        }
    }

    /// The next daemon round-robin that is not down and not yet tried for this file; when every
    /// untried one is down, the one whose rest ends first (a last attempt before giving up).
    private func pick(excluding tried: Set<Int>) -> Int? {
        let now = MonotonicClock.now()
        return state.withLock { state -> Int? in
            let count = endpoints.count
            for step in 0..<count {
                let index = (state.next + step) % count
                if !tried.contains(index) && state.downUntil[index] <= now {
                    state.next = (index + 1) % count
                    return index
                }
            }
            return nil
        }
    }

    private func takeIdle(_ index: Int) -> ClamdSession? {
        state.withLock { $0.idle[index].popLast() }
    }

    private func giveBack(_ index: Int, _ session: ClamdSession) {
        state.withLock { $0.idle[index].append(session) }
    }

    private func markDown(_ index: Int, _ error: ClamdError) {
        let until = MonotonicClock.now() + retryAfter
        let stale = state.withLock { state -> [ClamdSession] in
            state.downUntil[index] = until
            state.lastError[index] = error.message
            let sessions = state.idle[index]
            state.idle[index] = []
            return sessions
        }
        for session in stale { session.close() }
    }

    /// The daemons currently set aside, with their last error.
    public var downEndpoints: [(endpoint: ClamdEndpoint, error: String)] {
        let now = MonotonicClock.now()
        return state.withLock { state in
            endpoints.indices.compactMap { index in
                state.downUntil[index] > now ? (endpoints[index], state.lastError[index] ?? "") : nil
            }
        }
    }
}

/// Which engine a command uses.
public enum EngineChoice: String, Sendable, CaseIterable {
    /// clamd when one answers PING, else libclamav in-process.
    case auto
    case clamd
    case libclamav
}

/// Builds the scanner a command asked for.
public enum ScannerFactory {
    /// - Parameters:
    ///   - endpoints: the clamd endpoints (`--socket`, `--tcp …`); TCP ones are used when given.
    ///   - processes: for libclamav, the number of worker processes forked from the loaded engine
    ///     (the command's `--jobs`); 0 scans in the calling threads instead.
    ///   - scanTimeout: per file, for clamd and for libclamav workers.
    ///   - notes: receives one line per decision (which engine, why), for verbose output.
    public static func make(choice: EngineChoice, endpoints: [ClamdEndpoint], databaseDirectory: String,
                            limits: ScanLimits = .default, scanTimeout: Duration = .seconds(120), processes: Int = 0,
                            notes: (String) -> Void = { _ in }) throws(RemediationError) -> any FileScanner {
        let timeouts = ClamdClient.Timeouts(connect: .seconds(2), command: .seconds(10), scan: scanTimeout)
        switch choice {
        case .libclamav:
            return try loadEngine(databaseDirectory, limits: limits, processes: processes, scanTimeout: scanTimeout)
        case .clamd:
            // Fails fast when none answers: a drain that can scan nothing should say so at once.
            var errors: [String] = []
            var live: [ClamdEndpoint] = []
            for endpoint in endpoints {
                do {
                    _ = try ClamdClient(endpoint: endpoint, timeouts: timeouts).ping()
                    live.append(endpoint)
                } catch { errors.append("\(endpoint): \(error.message)") }
            }
            guard !live.isEmpty else {
                throw RemediationError(.engineUnavailable, "clamd does not answer PING (\(errors.joined(separator: "; "))); start it (restart-clamd) or use --engine libclamav")
            }
            for error in errors { notes("clamd left out: \(error)") }
            // Keep the silent ones too: they may come back during a long drain.
            return ClamdScanner(endpoints: live + endpoints.filter { !live.contains($0) }, timeouts: timeouts)
        case .auto:
            var live: [ClamdEndpoint] = []
            for endpoint in endpoints {
                do {
                    _ = try ClamdClient(endpoint: endpoint, timeouts: timeouts).ping()
                    live.append(endpoint)
                } catch { notes("clamd at \(endpoint) does not answer: \(error.message)") }
            }
            if !live.isEmpty { return ClamdScanner(endpoints: live, timeouts: timeouts) }
            notes("no clamd answers PING: loading the databases in \(databaseDirectory) in-process")
            return try loadEngine(databaseDirectory, limits: limits, processes: processes, scanTimeout: scanTimeout)
        }
    }

    private static func loadEngine(_ directory: String, limits: ScanLimits, processes: Int, scanTimeout: Duration)
        throws(RemediationError) -> LibClamAVScanner
    {
        let engine: ClamAVEngine
        do {
            engine = try ClamAVEngine(databaseDirectory: directory, limits: limits)
        } catch {
            throw RemediationError(.engineUnavailable, "cannot load the signature databases in \(directory): \(error)", cause: error)
        }
        guard processes > 0 else { return LibClamAVScanner(engine: engine) }
        do {
            return try LibClamAVScanner(engine: engine, processes: processes, scanTimeout: scanTimeout)
        } catch {
            throw RemediationError(.engineUnavailable, "cannot start \(processes) scanning processes: \(error)", cause: error)
        }
    }
}
