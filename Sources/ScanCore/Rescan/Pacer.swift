import Synchronization

/// `--max-rate`: each file waits until the bytes before it have had their time.
final class Pacer: Sendable {
    private let rate: Double
    private let next = Mutex<Double>(0)

    init(rate: Double) { self.rate = max(1, rate) }

    func take(bytes: Int64) {
        let now = MonotonicClock.now()
        let start = next.withLock { next -> Double in
            let start = max(next, now)
            next = start + Double(bytes) / rate
            return start
        }
        if start > now { sleepSeconds(start - now) }
    }
}
