import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A value guarded by a mutex with one condition variable (pthread): the blocking hand-offs
/// between the rescan's walking thread and its scanning threads. `Synchronization.Mutex` has no
/// condition variable, so waiting for a state change needs this.
///
/// The mutex and the condition live in allocated memory (their addresses must not move).
final class ConditionLock<State>: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var state: State

    init(_ state: State) {
        self.state = state
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// Runs `body` with the state locked; with `notify`, wakes every waiter afterwards.
    func withLock<T>(notify: Bool = false, _ body: (inout State) -> T) -> T {
        pthread_mutex_lock(mutex)
        defer {
            if notify { pthread_cond_broadcast(condition) }
            pthread_mutex_unlock(mutex)
        }
        return body(&state)
    }

    /// Blocks while `blocked` holds for the state, then runs `body` (still locked); with `notify`,
    /// wakes every waiter afterwards.
    func withLock<T>(waitingWhile blocked: (State) -> Bool, notify: Bool = false, _ body: (inout State) -> T) -> T {
        pthread_mutex_lock(mutex)
        defer {
            if notify { pthread_cond_broadcast(condition) }
            pthread_mutex_unlock(mutex)
        }
        while blocked(state) { pthread_cond_wait(condition, mutex) }
        return body(&state)
    }

    /// Blocks while `blocked` holds for the state.
    func wait(while blocked: (State) -> Bool) {
        withLock(waitingWhile: blocked) { _ in }
    }
}

/// A blocking FIFO for worker threads: `pop` waits for an item and returns nil once the queue is
/// closed and empty.
final class BlockingQueue<Item: Sendable>: Sendable {
    private struct Contents {
        var items: [Item] = []
        var head = 0
        var closed = false
        var waiting: Int { items.count - head }
    }

    private let contents = ConditionLock(Contents())

    init() {}

    func push(_ item: Item) {
        contents.withLock(notify: true) { $0.items.append(item) }
    }

    /// No more items; with `discardingWaiting`, the items not yet taken are dropped.
    func close(discardingWaiting: Bool = false) {
        contents.withLock(notify: true) { contents in
            contents.closed = true
            if discardingWaiting {
                contents.items.removeAll()
                contents.head = 0
            }
        }
    }

    /// Blocks while `limit` or more items wait to be taken.
    func waitUntilWaiting(fewerThan limit: Int) {
        contents.wait { $0.waiting >= limit && !$0.closed }
    }

    func pop() -> Item? {
        // A producer may wait for room: every pop notifies.
        contents.withLock(waitingWhile: { $0.waiting == 0 && !$0.closed }, notify: true) { contents in
            guard contents.head < contents.items.count else { return nil }
            let item = contents.items[contents.head]
            contents.head += 1
            if contents.head > 1024 && contents.head * 2 > contents.items.count {
                contents.items.removeFirst(contents.head)
                contents.head = 0
            }
            return item
        }
    }
}

private final class ThreadBody {
    let body: () -> Void
    init(_ body: @escaping () -> Void) { self.body = body }
}

/// Starts a joinable thread running `body`.
func spawnThread(_ body: @escaping @Sendable () -> Void) -> pthread_t {
    var thread = pthread_t()
    let context = Unmanaged.passRetained(ThreadBody(body)).toOpaque()
    let rc = pthread_create(&thread, nil, { raw in
        let box = Unmanaged<ThreadBody>.fromOpaque(raw!).takeRetainedValue()
        box.body()
        return nil
    }, context)
    precondition(rc == 0, "pthread_create failed: \(rc)")
    return thread
}

/// Waits for a thread started by ``spawnThread(_:)`` to end.
func joinThread(_ thread: pthread_t) {
    pthread_join(thread, nil)
}

/// Sleeps `seconds` (resumed after a signal).
func sleepSeconds(_ seconds: Double) {
    guard seconds > 0 else { return }
    var request = timespec(tv_sec: Int(seconds), tv_nsec: Int((seconds - seconds.rounded(.down)) * 1e9))
    var remaining = timespec()
    while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
}

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
