#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// `drain --watch`: a continuous drain. The engine stays loaded and the queue's lock held; the
/// queue tree is watched with inotify (directories are added as they appear), and each file is
/// handed to ``QueueDrain``'s per-file path (the same scan, ``SafeMover`` move, journal record,
/// list file and syslog lines as `drain`) once its writer closed it and it has been quiet for the
/// settle time. A full sweep (drain's walk and `--min-age` rule) runs at start, every sweep
/// interval and after the kernel dropped events, and counts what it finds: files that arrived
/// while the watcher was down, or that the watch missed. SIGTERM/SIGINT (``StopSignal``) start no
/// further file; the files in hand finish. The heartbeat file (``WatchState``) says it is alive.
public final class QueueWatcher: Sendable {
    public struct Configuration: Sendable {
        /// Queue, size limit, jobs, list directory, journal, age source, mover; its `minimumAge`
        /// is the sweep's (files the watch never saw close).
        public var drain: QueueDrain.Configuration
        /// The queue's lock, held for the watcher's lifetime; nil: the caller holds it.
        public var lockPath: String?
        public var statePath: String
        /// Seconds a closed file must stay quiet (no event) before it is scanned.
        public var settle: Double
        public var sweepInterval: Double
        public var heartbeatInterval: Double
        /// Test hook: the first this many events read are discarded, then an overflow is
        /// simulated (the kernel's queue is global and cannot be overflowed safely in tests).
        public var dropEvents: Int
        /// Becomes readable on a stop request (``StopSignal/install(_:)``); -1: none.
        public var stopDescriptor: Int32
        public var stopRequested: @Sendable () -> Bool

        public init(drain: QueueDrain.Configuration, lockPath: String?, statePath: String, settle: Double = 1,
                    sweepInterval: Double = 60, heartbeatInterval: Double = 10, dropEvents: Int = 0,
                    stopDescriptor: Int32 = -1, stopRequested: @escaping @Sendable () -> Bool = { StopSignal.requested }) {
            self.drain = drain
            self.lockPath = lockPath
            self.statePath = statePath
            self.settle = max(0, settle)
            self.sweepInterval = max(1, sweepInterval)
            self.heartbeatInterval = max(0.5, heartbeatInterval)
            self.dropEvents = max(0, dropEvents)
            self.stopDescriptor = stopDescriptor
            self.stopRequested = stopRequested
        }
    }

    /// Why a pass over the queue ran.
    public enum Pass: String, Sendable {
        case events
        case startSweep = "start sweep"
        case periodicSweep = "periodic sweep"
        case overflowSweep = "sweep after lost events"

        public var isSweep: Bool { self != .events }
    }

    public let configuration: Configuration
    public let scanner: any FileScanner

    public init(configuration: Configuration, scanner: any FileScanner) {
        self.configuration = configuration
        self.scanner = scanner
    }

    /// What /proc shows for an inotify descriptor (its "path" in the seam's messages and faults).
    static let inotifyName = "anon_inode:inotify"

    /// Runs until a stop request (returns) or until the queue directory goes away (throws).
    /// `report` gets every pass that touched a file.
    public func run(report: @escaping (QueueDrain.Report, Pass) -> Void = { _, _ in },
                    log: @escaping @Sendable (Syslog.Priority, String) -> Void = { Syslog.send($0, $1) }) throws(RemediationError) {
        let config = configuration
        let queue = config.drain.queue
        var lock: QueueLock?
        if let path = config.lockPath { lock = try QueueLock.acquire(path) }
        defer { lock?.release() }

        let queueFD: Int32
        switch Sys.open(queue.incoming, O_RDONLY | O_DIRECTORY | O_CLOEXEC) {
        case .success(let fd): queueFD = fd
        case .failure(let failure):
            throw RemediationError(.io, "cannot open queue \(queue.name) at \(queue.incoming): \(errnoText(failure.errno.rawValue))")
        }
        defer { _ = Sys.close(queueFD, path: queue.incoming) }
        let inotify: Int32
        switch Sys.inotifyInit1(Int32(O_NONBLOCK | O_CLOEXEC)) {
        case .success(let fd): inotify = fd
        case .failure(let failure):
            throw RemediationError(.io, "cannot start inotify: \(errnoText(failure.errno.rawValue))")
        }
        defer { _ = Sys.close(inotify, path: Self.inotifyName) }

        let heartbeat = WatchHeartbeat(path: config.statePath, state: WatchState(
            queue: queue.name, pid: getpid(), started: WallClock.now(), heartbeat: WallClock.now(),
            heartbeatInterval: config.heartbeatInterval, engine: scanner.engineName))
        var session = Session(inotify: inotify, queueFD: queueFD, log: log, queueName: queue.name)
        session.watchTree([], listFiles: false, now: MonotonicClock.now())
        guard session.tracker.rootWatch != nil else {
            throw RemediationError(.io, "cannot watch queue \(queue.name) at \(queue.incoming): \(session.lastWatchError ?? "inotify_add_watch failed")")
        }
        heartbeat.update { $0.watchedDirectories = session.tracker.directories.count; $0.unwatchedDirectories = session.unwatched }
        heartbeat.beat(force: true)
        log(.info, "watch \(queue.name): watching \(queue.incoming) (\(session.tracker.directories.count) directories, settle \(config.settle)s, sweep every \(config.sweepInterval)s, \(scanner.engineName))")

        var dropLeft = config.dropEvents
        var sweepDue: Pass? = .startSweep
        var nextSweep = MonotonicClock.now() + config.sweepInterval
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 * 1024, alignment: 8)
        defer { buffer.deallocate() }

        while !config.stopRequested() {
            if let pass = sweepDue {
                sweepDue = nil
                session.watchTree([], listFiles: false, now: MonotonicClock.now())  // directories whose events were lost
                let found = sweep(pass, session: &session, queueFD: queueFD, heartbeat: heartbeat, report: report, log: log)
                nextSweep = MonotonicClock.now() + config.sweepInterval
                heartbeat.update {
                    $0.sweeps += 1
                    $0.lastSweep = WallClock.now()
                    $0.sweepFoundFiles += found
                    $0.watchedDirectories = session.tracker.directories.count
                    $0.unwatchedDirectories = session.unwatched
                }
                heartbeat.beat(force: true)
                continue
            }
            // Wait for events, the next file to settle, the next sweep or the next heartbeat.
            let now = MonotonicClock.now()
            var wake = min(nextSweep, now + config.heartbeatInterval)
            if let deadline = session.tracker.nextDeadline(settle: config.settle) { wake = min(wake, deadline) }
            var fds = [pollfd(fd: inotify, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: config.stopDescriptor, events: Int16(POLLIN), revents: 0)]
            let timeout = Int32(max(0, min(Double(Int32.max / 2), ((wake - now) * 1000).rounded(.up))))
            _ = Sys.poll(&fds, count: config.stopDescriptor >= 0 ? 2 : 1, path: Self.inotifyName, retryingEINTR: false) { timeout }
            if config.stopRequested() { break }

            // Read and apply every event there is.
            while true {
                guard case .success(let count) = Sys.read(inotify, buffer.baseAddress!, buffer.count, path: Self.inotifyName)
                else { break }  // EAGAIN: drained
                if count == 0 { break }
                let decoded = InotifyDecoder.decode(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
                var events = decoded.events
                if dropLeft > 0 {
                    let dropped = min(dropLeft, events.count)
                    events.removeFirst(dropped)
                    dropLeft -= dropped
                    if dropLeft == 0 { events.insert(InotifyEvent(watch: -1, mask: .queueOverflow), at: 0) }
                }
                if decoded.leftover != 0 { events.append(InotifyEvent(watch: -1, mask: .queueOverflow)) }
                if !events.isEmpty { heartbeat.update { $0.lastEvent = WallClock.now() } }
                for event in events {
                    switch session.apply(event, now: MonotonicClock.now()) {
                    case .overflow:
                        heartbeat.update { $0.overflows += 1 }
                        log(.warning, "watch \(queue.name): the kernel's inotify queue overflowed (events lost); sweeping the queue")
                        sweepDue = .overflowSweep
                    case .rootGone:
                        heartbeat.update { $0.running = false }
                        heartbeat.beat(force: true)
                        throw RemediationError(.io, "queue directory \(queue.incoming) was deleted, moved or unmounted: watch lost; restart the watcher once it is back")
                    default:
                        break
                    }
                }
            }
            if MonotonicClock.now() >= nextSweep && sweepDue == nil { sweepDue = .periodicSweep }

            let ready = checkWriters(session.tracker.ready(now: MonotonicClock.now(), settle: config.settle),
                                     session: &session, queueFD: queueFD)
            if !ready.isEmpty {
                session.tracker.take(ready)
                var drain = config.drain
                drain.lockPath = nil
                drain.only = ready
                drain.minimumAge = 0  // the events and the writer check decided it is complete
                drain.journalSource = "watch"
                drain.stopRequested = config.stopRequested
                let result = runDrain(drain, heartbeat: heartbeat, log: log)
                if let result {
                    heartbeat.update {
                        $0.watchFoundFiles += result.scanned.count
                        $0.watchedDirectories = session.tracker.directories.count
                    }
                    report(result, .events)
                }
            }
            heartbeat.update { $0.watchedDirectories = session.tracker.directories.count; $0.unwatchedDirectories = session.unwatched }
            heartbeat.beat(force: false)
        }
        heartbeat.update { $0.running = false }
        heartbeat.beat(force: true)
        log(.info, "watch \(queue.name): stopped")
    }

    /// A full sweep: drain's walk and rules, leaving the files the watch is about to take.
    private func sweep(_ pass: Pass, session: inout Session, queueFD: Int32, heartbeat: WatchHeartbeat,
                       report: (QueueDrain.Report, Pass) -> Void, log: @escaping @Sendable (Syslog.Priority, String) -> Void) -> Int {
        let config = configuration
        var drain = config.drain
        drain.lockPath = nil
        let inFlight = session.tracker.inFlight(now: MonotonicClock.now(), recent: max(config.settle, drain.minimumAge))
        drain.skip = { inFlight.contains($0) }
        drain.journalSource = "watch-sweep"
        drain.stopRequested = config.stopRequested
        guard let result = runDrain(drain, heartbeat: heartbeat, log: log) else { return 0 }
        // Too new for the sweep's --min-age rule, with no event seen (written while the watcher
        // was down, or their events lost): the watch takes them once no writer has them open.
        let now = MonotonicClock.now()
        for file in result.files where file.disposition == .tooNew { session.tracker.discovered(file.relativePath, now: now) }
        let found = result.scanned.count
        if found > 0 {
            log(pass == .startSweep ? .info : .warning,
                "watch \(drain.queue.name): \(pass.rawValue) found \(found) file\(found == 1 ? "" : "s") the watch had not taken")
        }
        if !result.files.isEmpty || !result.unreadable.isEmpty || !result.removedTemporaries.isEmpty { report(result, pass) }
        return found
    }

    /// One drain pass; its summary line is not syslogged (one per file would flood it), the rest is.
    private func runDrain(_ drain: QueueDrain.Configuration, heartbeat: WatchHeartbeat,
                          log: @escaping @Sendable (Syslog.Priority, String) -> Void) -> QueueDrain.Report? {
        do {
            return try QueueDrain(configuration: drain, scanner: scanner).run(
                progress: { _ in heartbeat.beat(force: false) },
                log: { priority, message in if priority != .info { log(priority, message) } })
        } catch {
            log(.error, "watch \(drain.queue.name): \(error)")
            return nil
        }
    }

    /// Of the settled files, those no writer has open. A read lease cannot be taken while any
    /// process has the file open for writing (fcntl(2) F_SETLEASE); where leases are refused (not
    /// the owner, a filesystem without them), a closed file counts as complete and a discovered one
    /// must be older than `--min-age` by its modification time, as in `drain`.
    private func checkWriters(_ paths: [[UInt8]], session: inout Session, queueFD: Int32) -> [[UInt8]] {
        var ready: [[UInt8]] = []
        let now = MonotonicClock.now()
        for path in paths {
            let entry = session.tracker.pending[path]
            switch Self.writerState(queueFD: queueFD, path: path) {
            case .noWriter, .notRegular, .gone:
                ready.append(path)
            case .writerOpen:
                session.tracker.stillOpen(path, retryAt: now + max(configuration.settle, 0.5))
            case .unknown(let modified):
                let age = WallClock.now() - modified
                if entry?.closed == true || age >= configuration.drain.minimumAge {
                    ready.append(path)
                } else {
                    session.tracker.stillOpen(path, retryAt: now + configuration.drain.minimumAge - age)
                }
            }
        }
        return ready
    }

    enum WriterState {
        case noWriter, writerOpen, notRegular, gone
        case unknown(modified: Double)
    }

    static func writerState(queueFD: Int32, path: [UInt8]) -> WriterState {
        var components = path.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true).map { Array($0) }
        guard let name = components.popLast() else { return .gone }
        guard case .success(let directory) = Directories.openBeneath(queueFD, components[...], create: false).mapError(\.errno) else { return .gone }
        defer { if directory != queueFD { _ = Sys.close(directory) } }
        let fd = Sys.openatRaw(directory, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)
        if fd < 0 { return errno == ENOENT ? .gone : .notRegular }
        defer { _ = Sys.close(fd) }
        guard case .success(let metadata) = FileMetadata.read(descriptor: fd, wantBirthTime: false) else { return .gone }
        guard metadata.kind == .regular else { return .notRegular }
        switch Sys.setLease(fd, Int32(F_RDLCK)) {
        case .success:
            _ = Sys.setLease(fd, Int32(F_UNLCK))
            return .noWriter
        case .failure(let failure):
            return failure.errno.rawValue == EAGAIN ? .writerOpen : .unknown(modified: metadata.modified)
        }
    }

    /// The inotify descriptor and what the watch knows.
    struct Session {
        let inotify: Int32
        let queueFD: Int32
        let log: @Sendable (Syslog.Priority, String) -> Void
        let queueName: String
        var tracker = WatchTracker()
        /// Directories that could not be watched in the last pass over the tree.
        var unwatched = 0
        var lastWatchError: String?
        var warnedLimit = false

        init(inotify: Int32, queueFD: Int32, log: @escaping @Sendable (Syslog.Priority, String) -> Void, queueName: String) {
            self.inotify = inotify
            self.queueFD = queueFD
            self.log = log
            self.queueName = queueName
        }

        mutating func apply(_ event: InotifyEvent, now: Double) -> WatchTracker.Action? {
            let action = tracker.apply(event, now: now)
            switch action {
            case .newDirectory(let path):
                watchTree(path, listFiles: true, now: now)
                return nil
            case .directoryGone(let path):
                for watch in tracker.watches(under: path) {
                    _ = Sys.inotifyRmWatch(inotify, watch)
                    tracker.unwatched(watch)
                }
                return nil
            default:
                return action
            }
        }

        /// Watches `relative` and every directory beneath it (never following a symlink); with
        /// `listFiles`, the regular files found become pending (their events came before the watch).
        mutating func watchTree(_ relative: [UInt8], listFiles: Bool, now: Double) {
            if relative.isEmpty { unwatched = 0 }
            let components = relative.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true).map { Array($0) }
            guard case .success(let fd) = Directories.openBeneath(queueFD, components[...], create: false).mapError(\.errno) else { return }
            defer { if fd != queueFD { _ = Sys.close(fd) } }
            walk(fd, relative, listFiles: listFiles, now: now, depth: 0)
        }

        private mutating func walk(_ fd: Int32, _ relative: [UInt8], listFiles: Bool, now: Double, depth: Int) {
            // The directory we opened, whatever its name now points to.
            switch Sys.inotifyAddWatch(inotify, directory: fd, mask: InotifyMask.queueWatch.rawValue) {
            case .failure(let failure):
                let error = failure.errno.rawValue
                unwatched += 1
                lastWatchError = errnoText(error)
                if error == ENOSPC && !warnedLimit {
                    warnedLimit = true
                    log(.warning, "watch \(queueName): inotify watch limit reached (fs.inotify.max_user_watches); directories beyond it are covered by the sweep only")
                }
            case .success(let watch):
                tracker.watching(watch, directory: relative)
            }
            guard depth < 256 else { return }
            for name in ((try? DirectoryReader.names(in: fd)) ?? []) {
                guard case .success(let metadata) = Sys.stat(fd, name).mapError(\.errno) else { continue }
                let path = WatchTracker.join(relative, name)
                switch metadata.kind {
                case .directory:
                    let child = Sys.openatRaw(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                    guard child >= 0 else { unwatched += 1; continue }
                    walk(child, path, listFiles: listFiles, now: now, depth: depth + 1)
                    _ = Sys.close(child)
                case .regular where listFiles:
                    tracker.discovered(path, now: now)
                default:
                    break
                }
            }
        }
    }
}

/// The watcher's state file, updated from the watch loop and the scanning threads.
final class WatchHeartbeat: Sendable {
    let path: String
    private let state: Mutex<(state: WatchState, written: Double, failed: Bool)>

    init(path: String, state: WatchState) {
        self.path = path
        self.state = Mutex((state, 0, false))
        try? Directories.makeAll(String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)]))
    }

    func update(_ body: (inout WatchState) -> Void) {
        state.withLock { body(&$0.state) }
    }

    /// Writes the file when the interval has passed (or `force`).
    func beat(force: Bool) {
        let now = MonotonicClock.now()
        state.withLock { entry in
            guard force || now - entry.written >= entry.state.heartbeatInterval else { return }
            entry.state.heartbeat = WallClock.now()
            entry.written = now
            do {
                try entry.state.write(path: path)
                entry.failed = false
            } catch {
                if !entry.failed { Syslog.send(.error, "watch \(entry.state.queue): cannot write the state file \(path): \(error)") }
                entry.failed = true
            }
        }
    }
}
