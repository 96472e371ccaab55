import Logging
import ScanCore
import ScanCoreCLI
import ServiceLifecycle
import Synchronization

/// The status page's data: the latest ``PipelineStatus``, gathered at most once per `maxAge` however
/// many browsers ask (single flight, off the cooperative pool), and a sampler that gathers every
/// `interval` to feed the charts' ring (``StatusHistory``).
final class StatusBoard: Sendable {
    let sources: StatusSources
    let history: StatusHistory
    let maxAge: Double
    let clock: @Sendable () -> Double
    private let state = Mutex<(latest: PipelineStatus?, inFlight: Task<PipelineStatus, Never>?)>((nil, nil))

    init(sources: StatusSources, history: StatusHistory = StatusHistory(), maxAge: Double = 10, clock: @escaping @Sendable () -> Double) {
        self.sources = sources
        self.history = history
        self.maxAge = maxAge
        self.clock = clock
    }

    /// The latest status when it is younger than `maxAge`, else a fresh one.
    func current() async -> PipelineStatus {
        let now = clock()
        let task = state.withLock { state -> Task<PipelineStatus, Never>? in
            if let latest = state.latest, now - latest.generated < maxAge, now >= latest.generated { return nil }
            if let inFlight = state.inFlight { return inFlight }
            let task = Task { await self.gather(record: false) }
            state.inFlight = task
            return task
        }
        guard let task else {
            var latest = state.withLock { $0.latest }!
            latest.history = history.samples
            return latest
        }
        let status = await task.value
        state.withLock { if $0.inFlight == task { $0.inFlight = nil } }
        return status
    }

    /// Gathers now; with `record`, the result is a point of the charts.
    func gather(record: Bool) async -> PipelineStatus {
        let sources = self.sources
        let now = clock()
        var status = await runBlocking { StatusGatherer.gather(sources, now: now) }
        if record { history.append(StatusSample(status)) }
        status.history = history.samples
        state.withLock { $0.latest = status }
        return status
    }
}

/// Gathers the status every `interval` for the charts, from start until shutdown.
struct StatusSampler: Service {
    let board: StatusBoard
    let interval: Duration
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                // The gathering (a walk, clamd round trips) cannot be interrupted; on shutdown the
                // sampler stops waiting for it at once and lets it finish on its own.
                let (done, finished) = AsyncStream<Void>.makeStream()
                let board = self.board
                let logger = self.logger
                Task {
                    let status = await board.gather(record: true)
                    logger.debug("status gathered", metadata: ["state": "\(status.state)", "seconds": "\(status.gatherSeconds)"])
                    finished.finish()
                }
                for await _ in done {}
                if Task.isCancelled { break }
                try? await Task.sleep(for: interval)
            }
        }
    }
}
