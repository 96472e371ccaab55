// System calls: the parent's side (close, kill, waitpid) goes through the seam (System/Process.swift).
// The exception is the fork itself, and the socketpair and every call the child makes, which are C
// (Sources/CClamAVWorker, `vsw_spawn`, `vsw_receive_reply`): after fork in a threaded process
// only async-signal-safe calls may run until the child exits, and Swift code (runtime, allocation,
// the seam's fault lock) is not that.
import CClamAV
import CClamAVWorker
import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Scanning processes forked from a loaded ``ClamAVEngine``: each worker shares the compiled
/// engine copy-on-write (the database is loaded once, in the parent), scans the descriptors it is
/// handed, and answers with the verdict.
///
/// ```swift
/// let engine = try ClamAVEngine(databaseDirectory: "/var/lib/clamav")
/// let pool = try ScanWorkerPool(engine: engine, workers: 2)
/// let verdict = pool.scan(fileDescriptor: fd, name: "incoming/report.pdf")  // from any thread
/// ```
///
/// Why processes and not threads sharing the engine: on a 2-core machine two libclamav threads
/// in one address space burned 27% more CPU than the same scans in two processes (system time
/// 1.3 s → 4.6 s and user time up 11% over 1,000 files; `Benchmarks/inprocess-scan.sh`). A
/// process also contains what threads cannot: a worker that crashes on a hostile file, or never
/// finishes one, costs that file an error verdict, not the whole command.
///
/// Any number of threads may call ``scan(fileDescriptor:name:)`` at once; each borrows an idle
/// worker (or waits for one). A worker found dead before it took the file is replaced and the
/// file is sent to the new one; a worker that dies while scanning, or takes longer than
/// `scanTimeout` (it is killed), makes that file an error verdict and is replaced.
///
/// The workers end when the pool does (``shutdown()`` or deinit) and when this process dies:
/// they exit at end of file on their socket, after the file in hand. They ignore SIGINT,
/// SIGTERM and SIGHUP for that reason: an interrupted drain finishes the files it has sent out.
public final class ScanWorkerPool: Sendable {
    /// The engine the workers were forked from.
    public let engine: ClamAVEngine
    /// How long one file may take before its worker is killed (nil: no limit).
    public let scanTimeout: Duration?

    private let slots: Mutex<Slots>
    private let available: DispatchSemaphore

    private struct Worker {
        var pid: pid_t
        var socket: Int32
    }

    private struct Slots: ~Copyable {
        var workers: [Worker?]
        var idle: [Int]
        var closed = false
    }

    /// Forks `workers` scanning processes from `engine`.
    ///
    /// - Throws: ``ClamAVError`` `.workerStart` when a process cannot be forked (the ones
    ///   already started are stopped).
    public init(engine: ClamAVEngine, workers: Int, scanTimeout: Duration? = nil) throws(ClamAVError) {
        precondition(workers > 0, "a ScanWorkerPool needs at least one worker")
        self.engine = engine
        self.scanTimeout = scanTimeout
        var started: [Worker?] = []
        for _ in 0..<workers {
            do {
                started.append(try Self.spawn(engine))
            } catch {
                for worker in started { if let worker { Self.stop(worker, kill: true) } }
                throw error
            }
        }
        slots = Mutex(Slots(workers: started, idle: Array(0..<workers)))
        available = DispatchSemaphore(value: workers)
    }

    deinit { shutdown() }

    /// The number of workers.
    public var workerCount: Int { slots.withLock { $0.workers.count } }

    /// The process IDs of the live workers, in slot order.
    public var processIDs: [pid_t] { slots.withLock { $0.workers.compactMap { $0?.pid } } }

    /// Scans the open regular file `fileDescriptor` from its start in a worker. `name` only
    /// appears in libclamav's messages.
    ///
    /// - Returns: the verdict as ``ClamAVEngine/scan(fileDescriptor:name:)`` gives it, or
    ///   `.error` naming what happened to the worker: `scan timed out after 2 s (the scanning
    ///   process was killed)`, `the scanning process died while scanning (killed by signal 11)`,
    ///   `no scanning process: …` when none could be started, `the scanner pool is shut down`.
    public func scan(fileDescriptor: Int32, name: String) -> ScanVerdict {
        available.wait()
        defer { available.signal() }
        // Oldest idle first, so the work (and the replacement of dead workers) goes round all of them.
        guard let index = slots.withLock({ $0.closed || $0.idle.isEmpty ? nil : $0.idle.removeFirst() }) else {
            return .error(message: "the scanner pool is shut down")
        }
        var worker = slots.withLock { $0.workers[index] }
        let verdict = scan(fileDescriptor, name: name, worker: &worker)
        let closed = slots.withLock { slots in
            slots.workers[index] = worker
            if !slots.closed { slots.idle.append(index) }
            return slots.closed
        }
        if closed, let worker {
            Self.stop(worker, kill: false)
            slots.withLock { $0.workers[index] = nil }
        }
        return verdict
    }

    /// Stops every worker: closes their sockets (each exits after the file in hand) and reaps
    /// them, killing any that has not exited within 5 seconds. Scans after this return an error.
    public func shutdown() {
        let idle = slots.withLock { slots -> [Worker] in
            slots.closed = true
            let idle = slots.idle.compactMap { slots.workers[$0] }
            for index in slots.idle { slots.workers[index] = nil }
            slots.idle = []
            return idle
        }
        for worker in idle { Self.stop(worker, kill: false) }
    }

    // MARK: - One request

    private func scan(_ fd: Int32, name: String, worker: inout Worker?) -> ScanVerdict {
        // A worker that died while idle (killed, out of memory) is replaced before the file goes
        // out; once a worker has the file, its death is that file's error.
        for attempt in 0..<2 {
            if worker == nil {
                do { worker = try Self.spawn(engine) } catch {
                    return .error(message: "no scanning process: \(error.message)")
                }
            }
            guard let current = worker else { continue }
            let sent = name.utf8CString.withUnsafeBufferPointer { bytes in
                vsw_send_request(current.socket, fd, bytes.baseAddress, UInt(bytes.count - 1))
            }
            if sent == 0 { break }
            let saved = errno
            Self.stop(current, kill: true)
            worker = nil
            if attempt == 1 || !(saved == EPIPE || saved == ECONNRESET || saved == ENOTCONN) {
                return .error(message: "cannot hand the file to a scanning process: \(strerrorText(saved))")
            }
        }
        guard let current = worker else { return .error(message: "no scanning process") }

        var buffer = [UInt8](repeating: 0, count: Int(VSW_REPLY_MAX))
        let timeoutMilliseconds = scanTimeout.map { Self.milliseconds($0) } ?? -1
        let received = buffer.withUnsafeMutableBytes { raw in
            vsw_receive_reply(current.socket, raw.baseAddress, UInt(raw.count), timeoutMilliseconds)
        }
        if received > 0, let outcome = Self.decode(buffer[0..<received]) {
            return ClamAVEngine.verdict(outcome)
        }
        let saved = errno
        worker = nil
        if received < 0 && saved == ETIMEDOUT {
            Self.stop(current, kill: true)
            return .error(message: "scan timed out after \(Self.text(scanTimeout ?? .zero)) (the scanning process was killed)")
        }
        if received == 0 {
            let status = Self.stop(current, kill: false)
            return .error(message: "the scanning process died while scanning (\(status))")
        }
        Self.stop(current, kill: true)
        if received > 0 { return .error(message: "the scanning process sent a malformed reply (\(received) bytes)") }
        return .error(message: "cannot read the scanning process's reply: \(strerrorText(saved))")
    }

    // MARK: - Processes

    private static func spawn(_ engine: ClamAVEngine) throws(ClamAVError) -> Worker {
        var socket: Int32 = -1
        var options = ClamAVEngine.scanOptions
        let pid = vsw_spawn(engine.handle.pointer, &options, &socket)
        if pid < 0 {
            let saved = errno
            throw ClamAVError(.workerStart, "cannot start a scanning process (fork): \(strerrorText(saved))")
        }
        return Worker(pid: pid, socket: socket)
    }

    /// Closes the worker's socket and reaps it; with `kill`, or when it has not exited within 5
    /// seconds, kills it first. Returns how it ended (`exit status 0`, `killed by signal 9`).
    @discardableResult
    private static func stop(_ worker: Worker, kill shouldKill: Bool) -> String {
        _ = Sys.close(worker.socket, path: "scanning process \(worker.pid)")
        if shouldKill { _ = Sys.kill(worker.pid, SIGKILL) }
        var status: Int32 = 0
        let deadline = MonotonicClock.now() + 5
        while true {
            switch Sys.waitpid(worker.pid, shouldKill ? 0 : WNOHANG) {
            case .failure(let failure):
                return "not reaped: \(strerrorText(failure.errno.rawValue))"
            case .success(let reaped) where reaped.pid == worker.pid:
                status = reaped.status
            case .success:
                if MonotonicClock.now() >= deadline {
                    _ = Sys.kill(worker.pid, SIGKILL)
                    status = (try? Sys.waitpid(worker.pid).get().status) ?? status
                    break
                }
                sleepSeconds(0.002)
                continue
            }
            break
        }
        let signal = status & 0x7f
        if signal == 0 { return "exit status \((status >> 8) & 0xff)" }
        return "killed by signal \(signal)"
    }

    // MARK: - Wire format

    /// Decodes a worker's reply (`vsw_reply_header`, the returned name, the callback's last name,
    /// NUL-terminated messages); nil when the lengths do not add up.
    static func decode(_ bytes: ArraySlice<UInt8>) -> EngineHandle.ScanOutcome? {
        let headerSize = MemoryLayout<vsw_reply_header>.size
        guard bytes.count >= headerSize else { return nil }
        let header = bytes.withUnsafeBytes { $0.loadUnaligned(as: vsw_reply_header.self) }
        let body = bytes.dropFirst(headerSize)
        let lengths = [Int(header.virname_len), Int(header.found_len), Int(header.messages_len)]
        guard lengths.reduce(0, +) == body.count else { return nil }
        var cursor = body.startIndex
        func take(_ count: Int) -> ArraySlice<UInt8> {
            defer { cursor += count }
            return body[cursor..<cursor + count]
        }
        let virname = take(lengths[0])
        let found = take(lengths[1])
        let messages = take(lengths[2]).split(separator: 0, omittingEmptySubsequences: true)
            .map { String(decoding: $0, as: UTF8.self) }
        return EngineHandle.outcome(
            rc: header.rc,
            virname: virname.isEmpty ? nil : String(decoding: virname, as: UTF8.self),
            lastFound: found.isEmpty ? nil : String(decoding: found, as: UTF8.self),
            messages: messages)
    }

    private static func milliseconds(_ duration: Duration) -> Int32 {
        let (seconds, attoseconds) = duration.components
        let total = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        return Int32(clamping: max(total, 0))
    }

    private static func text(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        if attoseconds == 0 { return "\(seconds) s" }
        let value = Double(seconds) + Double(attoseconds) / 1e18
        return "\((value * 1000).rounded() / 1000) s"
    }
}
