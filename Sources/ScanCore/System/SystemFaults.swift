#if DEBUG
import Synchronization

/// Makes system calls fail on purpose, for tests (debug builds only; in release builds this type
/// does not exist and the seam's check compiles away).
///
/// A fault names a call, the errno it fails with, which paths it applies to and how many times it
/// fires. It is process-global, so concurrent tests keep out of each other's way by matching
/// only paths under their own temp directory (``inject(_:errno:count:under:)``). Injecting
/// `EINTR` makes the call look interrupted; the seam retries, so `count` EINTRs are absorbed and
/// the real call then runs.
///
/// ```swift
/// let fault = SystemFaults.inject(.fsync, errno: EIO, under: tree.root)
/// defer { fault.remove() }
/// ```
///
/// Calls without a path (socket, pipe, poll, inotify_init1, posix_spawn, waitpid, sigaction…)
/// cannot be scoped by directory. For them ``inTask(_:errno:count:_:)`` arms a fault that fires
/// only for calls made inside its body, in the task that runs it (a task-local scope id, which
/// child tasks inherit and other tests' tasks never see). A call made on a thread the body
/// started itself (a pthread, a Dispatch queue) is outside the scope and never fails.
public enum SystemFaults {
    /// One armed fault; `remove()` disarms it (also when it has not fired).
    public final class Token: Sendable {
        fileprivate let id: Int
        fileprivate init(id: Int) { self.id = id }

        /// How many times the fault fired so far.
        public var fired: Int { state.withLock { $0.fired[id] ?? 0 } }

        /// Disarms the fault.
        public func remove() {
            state.withLock { state in
                state.faults.removeAll { $0.id == id }
                armedFlag.store(!state.faults.isEmpty, ordering: .releasing)
            }
        }
    }

    struct Fault {
        var id: Int
        var call: SystemCall
        var errno: Int32
        var remaining: Int
        var matching: @Sendable (String) -> Bool
        /// Set for a fault armed by ``inTask(_:errno:count:_:)``: it fires only in that scope,
        /// for any path or none.
        var scope: Int? = nil
    }

    struct State {
        var faults: [Fault] = []
        var fired: [Int: Int] = [:]
        var nextID = 0
    }

    private static let state = Mutex(State())
    private static let armedFlag = Atomic<Bool>(false)

    /// Whether any fault is armed (a single atomic load on the seam's fast path).
    static var armed: Bool { armedFlag.load(ordering: .acquiring) }

    /// Arms a fault: the next `count` calls of `call` whose path satisfies `matching` fail with
    /// `errno` (`Int.max`: every call until removed).
    @discardableResult
    public static func inject(_ call: SystemCall, errno: Int32, count: Int = 1,
                              matching: @escaping @Sendable (String) -> Bool) -> Token {
        state.withLock { state in
            let id = state.nextID
            state.nextID += 1
            state.faults.append(Fault(id: id, call: call, errno: errno, remaining: count, matching: matching))
            armedFlag.store(true, ordering: .releasing)
            return Token(id: id)
        }
    }

    /// Arms a fault for paths equal to `directory` or under it (the test's own temp directory).
    @discardableResult
    public static func inject(_ call: SystemCall, errno: Int32, count: Int = 1, under directory: String) -> Token {
        let base = directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        return inject(call, errno: errno, count: count) { $0 == base || $0.hasPrefix(base + "/") }
    }

    /// The scope of the ``inTask(_:errno:count:_:)`` body the current task runs in, if any.
    @TaskLocal static var currentScope: Int?

    /// Runs `body` with a fault armed for `call` that fires only for calls made inside it, in
    /// this task (see the type's notes); the fault is removed when `body` returns or throws.
    /// `body` gets the token (for ``Token/fired``).
    public static func inTask<R, E: Error>(_ call: SystemCall, errno: Int32, count: Int = 1,
                                           _ body: (Token) throws(E) -> R) throws(E) -> R {
        let token = state.withLock { state in
            let id = state.nextID
            state.nextID += 1
            state.faults.append(Fault(id: id, call: call, errno: errno, remaining: count, matching: { _ in false }, scope: id))
            armedFlag.store(true, ordering: .releasing)
            return Token(id: id)
        }
        defer { token.remove() }
        let result: Result<R, E> = $currentScope.withValue(token.id) {
            do throws(E) { return .success(try body(token)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// The errno to fail `call` on `path` with, consuming one firing; nil: make the real call.
    static func take(_ call: SystemCall, path: String?) -> Int32? {
        let scope = currentScope
        return state.withLock { state in
            guard let index = state.faults.firstIndex(where: { fault in
                guard fault.call == call && fault.remaining > 0 else { return false }
                if let own = fault.scope { return own == scope }
                return path.map(fault.matching) == true
            })
            else { return nil }
            state.faults[index].remaining -= 1
            let fault = state.faults[index]
            state.fired[fault.id, default: 0] += 1
            return fault.errno
        }
    }
}
#endif
