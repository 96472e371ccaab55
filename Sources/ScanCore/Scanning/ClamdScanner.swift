#if canImport(Glibc)
import Glibc
#endif
import Synchronization

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
    public var databasesCanChange: Bool { true }

    /// clamd's VERSION (daily) from the first daemon that answers, with the main version from the
    /// database directory's headers.
    public func databaseVersion(databaseDirectory: String) throws(ScanningError) -> DatabaseVersion {
        var failures: [String] = []
        for endpoint in endpoints {
            do {
                let version = try ClamdClient(endpoint: endpoint).version()
                return DatabaseVersion(daily: version.databaseVersion, main: DatabaseVersion.onDisk(databaseDirectory).main)
            } catch {
                failures.append("\(endpoint): \(error.message)")
            }
        }
        throw ScanningError(.engineUnavailable, "cannot read clamd's database version (\(failures.joined(separator: "; ")))")
    }
    public var summary: String { "clamd at " + endpoints.map(\.description).joined(separator: ", ") }

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
                return .error(message: "cannot rewind \(name): \(errnoText(failure.errno.rawValue))")
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
