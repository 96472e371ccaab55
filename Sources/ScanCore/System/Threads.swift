import Synchronization

#if canImport(Glibc)
import Glibc
#endif

// Threads, their locks and sleeping: the one place ScanCore calls pthread and nanosleep. Threads
// are plain pthreads (not Dispatch or Tasks) where a thread must block in a system call or a C
// library (libclamav, a hung NFS stat) without starving a cooperative pool. A failure to create a
// thread or a mutex is a precondition failure: there is nothing useful to do without it.

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

/// Starts a detached thread running `body` (the watchdog's): nobody joins it.
func spawnDetachedThread(_ body: @escaping @Sendable () -> Void) {
    let thread = spawnThread(body)
    pthread_detach(thread)
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

/// An identifier of the calling thread, unique among the threads alive (pthread_self).
func currentThreadID() -> UInt { UInt(pthread_self()) }
