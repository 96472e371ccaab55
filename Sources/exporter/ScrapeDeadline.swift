import ScanCore
import ScanCoreCLI
import ServiceLifecycle
import Synchronization

/// A collector with a deadline: a scrape never waits on it for more than `timeout`, nor at all once
/// the exporter is shutting down.
///
/// The wrapped collection runs in its own task; when the deadline passes first, this scrape reports
/// the collector failed (`virus_scan_collector_success 0`, the reason in the log) and the collection
/// is left to finish on its own. A collector stuck in a system call (a read the kernel never
/// completes) is never started a second time while the first attempt is still running: later
/// scrapes report it failed at once instead of piling up blocked threads.
struct DeadlineCollector: Collector {
    let inner: any Collector
    let timeout: Duration
    private let running = StartMark()

    init(_ inner: any Collector, timeout: Duration) {
        self.inner = inner
        self.timeout = timeout
    }

    var name: String { inner.name }

    func collect(now: Double) async -> CollectorResult {
        let started = ContinuousClock.now
        let previous = running.instant.withLock { current -> ContinuousClock.Instant? in
            if let current { return current }
            current = started
            return nil
        }
        if let previous {
            let stuck = (ContinuousClock.now - previous).seconds
            return .failure("\(name): the collection started \(Self.text(stuck)) ago has not returned; not started again")
        }
        let once = ResumeOnce()
        let name = self.name
        let timeout = self.timeout
        let inner = self.inner
        let running = self.running
        return await withGracefulShutdownHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<CollectorResult, Never>) in
                once.set(continuation)
                let timer = Task {
                    try? await Task.sleep(for: timeout)
                    if Task.isCancelled { return }
                    once.resume(.failure("\(name): no answer within \(Self.text(timeout.seconds)) (--scrape.timeout); reported failed"))
                }
                Task {
                    let result = await inner.collect(now: now)
                    running.instant.withLock { $0 = nil }
                    timer.cancel()
                    once.resume(result)
                }
            }
        } onGracefulShutdown: {
            once.resume(.failure("\(name): the exporter is shutting down"))
        }
    }

    private static func text(_ seconds: Double) -> String {
        seconds < 10 ? "\((seconds * 10).rounded() / 10) s" : "\(Int(seconds.rounded())) s"
    }
}

/// When the collection in progress started (nil: none running).
private final class StartMark: Sendable {
    let instant = Mutex<ContinuousClock.Instant?>(nil)
}

/// Resumes a continuation exactly once, whoever comes first (the collection, the deadline, shutdown).
private final class ResumeOnce: Sendable {
    private enum State {
        case waiting
        case armed(CheckedContinuation<CollectorResult, Never>)
        case early(CollectorResult)
        case done
    }
    private let state = Mutex<State>(.waiting)

    func set(_ continuation: CheckedContinuation<CollectorResult, Never>) {
        let early = state.withLock { state -> CollectorResult? in
            if case .early(let result) = state {
                state = .done
                return result
            }
            state = .armed(continuation)
            return nil
        }
        if let early { continuation.resume(returning: early) }
    }

    func resume(_ result: CollectorResult) {
        let continuation = state.withLock { state -> CheckedContinuation<CollectorResult, Never>? in
            switch state {
            case .waiting:
                state = .early(result)
                return nil
            case .armed(let continuation):
                state = .done
                return continuation
            case .early, .done:
                return nil
            }
        }
        continuation?.resume(returning: result)
    }
}
