import CScanSupport
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One clean tree to rescan, and where its detections go.
public struct RescanTree: Sendable, Hashable {
    /// The queue the tree belongs to (recorded in the journal).
    public var queue: String
    public var clean: String
    public var infected: String

    public init(queue: String, clean: String, infected: String) {
        self.queue = queue
        self.clean = clean
        self.infected = infected
    }
}

/// How a rescan runs.
public struct RescanConfiguration: Sendable {
    public var trees: [RescanTree]
    /// Incoming queues watched for a backlog (the pass yields while one has files older than `yieldAfter`).
    public var incomingQueues: [QueueDefinition]
    public var statePath: String
    /// The scan journal: a record for every detection and scan error.
    public var journalPath: String
    /// If set, a journal that gets a record for every file scanned, clean ones included.
    public var auditJournalPath: String?
    /// Files scanned at once.
    public var jobs: Int
    /// Seconds a file may wait in an incoming queue before the pass makes way for the scanner.
    public var yieldAfter: Double
    /// How often (seconds, at most) the incoming queues are looked at.
    public var yieldCheckInterval: Double
    /// Bytes per second at most; nil: no cap.
    public var maxRate: Double?
    /// Report detections without moving anything.
    public var reportOnly: Bool
    /// Seconds between state writes that are fsynced (every write is atomic; these also survive a power loss).
    public var durableInterval: Double
    /// Stop (resumably) after this many seconds.
    public var stopAfter: Double?
    /// Start a new pass even when the last one completed with the same databases.
    public var newPass: Bool
    public var ageSource: AgeSource
    /// Log detections, errors and the pass's start and end to syslog (tag `virus_scan`).
    public var syslog: Bool
    /// How often (seconds) a running pass asks the engine for its database version (clamd reloads).
    public var versionCheckInterval: Double
    /// The pipeline the journal records name (``PipelineLayout/pipelineIdentity``); nil: none.
    public var pipeline: String? = nil
    /// The circuit breaker (``StormBreaker``): once one signature has matched this many distinct
    /// files in this run, further files matching it are held (left in the clean tree, reported and
    /// journaled as `held`). 0: off.
    public var stormLimit: Int = StormBreaker.defaultLimit

    public init(trees: [RescanTree], incomingQueues: [QueueDefinition], statePath: String, journalPath: String,
                auditJournalPath: String? = nil, jobs: Int = 2, yieldAfter: Double = 60, yieldCheckInterval: Double = 1,
                maxRate: Double? = nil, reportOnly: Bool = false, durableInterval: Double = 5, stopAfter: Double? = nil,
                newPass: Bool = false, ageSource: AgeSource = .mtime, syslog: Bool = true, versionCheckInterval: Double = 60) {
        self.trees = trees
        self.incomingQueues = incomingQueues
        self.statePath = statePath
        self.journalPath = journalPath
        self.auditJournalPath = auditJournalPath
        self.jobs = max(1, jobs)
        self.yieldAfter = yieldAfter
        self.yieldCheckInterval = yieldCheckInterval
        self.maxRate = maxRate
        self.reportOnly = reportOnly
        self.durableInterval = durableInterval
        self.stopAfter = stopAfter
        self.newPass = newPass
        self.ageSource = ageSource
        self.syslog = syslog
        self.versionCheckInterval = versionCheckInterval
    }
}

/// What a running rescan reports as it goes.
public enum RescanEvent: Sendable {
    /// A new pass from the start of the first tree; `reason` says why.
    case passStarted(reason: String, version: RescanDatabaseVersion, files: Int, bytes: Int64)
    /// Continuing an unfinished pass.
    case passResumed(version: RescanDatabaseVersion, filesDone: Int, filesTotal: Int?)
    case treeStarted(RescanTree)
    /// An incoming queue has a backlog older than `--yield-after`: the pass pauses.
    case yielding(queue: String, files: Int, oldestAge: Double)
    /// The backlog cleared after `seconds`.
    case yieldEnded(seconds: Double)
    case detection(queue: String, path: String, signature: String, outcome: String)
    case scanError(queue: String, path: String, message: String)
    case skipped(queue: String, path: String, kind: EntryKind)
    case unreadableDirectory(queue: String, path: String, errno: Int32)
    /// The engine's databases changed mid-pass: a new pass starts.
    case versionChanged(from: RescanDatabaseVersion, to: RescanDatabaseVersion)
}

/// How a run ended.
public struct RescanSummary: Sendable {
    public enum Outcome: Sendable, Hashable {
        /// The pass finished in this run.
        case completed
        /// The last pass already finished with these databases; nothing was scanned.
        case alreadyComplete
        /// Stopped before the end (signal, `--stop-after`); the next run resumes.
        case stopped(reason: String)
    }

    public var outcome: Outcome
    /// The state as last written.
    public var progress: RescanProgress
    /// This run only.
    public var filesScanned: Int
    public var bytesScanned: Int64
    public var detections: Int
    public var errors: Int
    public var seconds: Double
    /// Seconds spent yielding to incoming backlogs.
    public var yieldedSeconds: Double
    /// Files held by the storm breaker in this run (left in the clean tree), by signature.
    public var held: [String: Int] = [:]
    /// Distinct files each held signature matched in this run.
    public var matched: [String: Int] = [:]
}

/// The rescan of the clean trees: resumable, polite, observable.
///
/// The trees are walked in byte order of relative paths (``SortedTreeWalk``). Files are handed to
/// `jobs` scanning threads in that order, numbered; the state file's checkpoint advances only over
/// a prefix of numbers that all finished (a completion watermark), and the files that finished
/// beyond it are listed, so a run killed at any instant rescans at most the files that were being
/// scanned. The state file is replaced atomically after every file that finishes (fsynced every
/// `durableInterval` seconds).
public final class Rescanner: Sendable {
    public let configuration: RescanConfiguration
    let scanner: any FileScanner
    private let initialVersion: RescanDatabaseVersion
    private let versionProbe: (@Sendable () -> RescanDatabaseVersion?)?
    private let shouldStop: @Sendable () -> Bool
    private let events: @Sendable (RescanEvent) -> Void
    private let breaker: StormBreaker

    /// - Parameters:
    ///   - version: the databases `scanner` runs with (``RescanDatabaseVersion/of(_:databaseDirectory:)``).
    ///   - versionProbe: asked every `versionCheckInterval` seconds for the current version (clamd
    ///     may reload); nil when it cannot change (libclamav in-process).
    ///   - shouldStop: polled before each file; true stops the run resumably (SIGTERM, SIGINT).
    public init(configuration: RescanConfiguration, scanner: any FileScanner, version: RescanDatabaseVersion,
                versionProbe: (@Sendable () -> RescanDatabaseVersion?)? = nil,
                shouldStop: @escaping @Sendable () -> Bool = { false },
                events: @escaping @Sendable (RescanEvent) -> Void = { _ in }) {
        self.configuration = configuration
        self.scanner = scanner
        self.initialVersion = version
        self.versionProbe = versionProbe
        self.shouldStop = shouldStop
        self.events = events
        self.breaker = StormBreaker(limit: configuration.stormLimit)
    }

    public func run() throws(RescanError) -> RescanSummary {
        let started = MonotonicClock.now()
        let store = RescanStateStore(path: configuration.statePath)
        for tree in configuration.trees {
            let fd = open(tree.clean, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            if fd < 0 {
                let saved = errno
                throw RescanError(.treeMissing, "cannot open the clean tree \(tree.clean) of queue \(tree.queue): \(RescanError.text(saved))", cause: Errno(saved))
            }
            close(fd)
        }
        var version = initialVersion
        var stats = RunStats()
        while true {
            var progress: RescanProgress
            switch try decide(store: store, version: version) {
            case .alreadyComplete(let previous):
                return RescanSummary(outcome: .alreadyComplete, progress: previous, filesScanned: 0, bytesScanned: 0,
                                     detections: 0, errors: 0, seconds: MonotonicClock.now() - started, yieldedSeconds: 0)
            case .resume(let loaded):
                progress = loaded
                progress.pid = getpid()
                progress.yielding = false
                progress.yieldingSince = nil
                progress.engine = scanner.engineName
                events(.passResumed(version: version, filesDone: progress.filesDone, filesTotal: progress.filesTotal))
                log(LOG_INFO, "rescan of the clean trees resumed (\(version)): \(progress.filesDone)/\(progress.filesTotal.map(String.init) ?? "?") files done")
            case .fresh(let base, let reason):
                progress = base
                let totals = Self.count(configuration.trees)
                progress.filesTotal = totals.files
                progress.bytesTotal = totals.bytes
                events(.passStarted(reason: reason, version: version, files: totals.files, bytes: totals.bytes))
                log(LOG_INFO, "rescan of the clean trees started (\(reason); \(version)): \(totals.files) files, \(totals.bytes) bytes")
            }
            progress.updated = WallClock.now()
            try store.write(progress, durable: true)

            let tracker = ProgressTracker(progress: progress, store: store, durableInterval: configuration.durableInterval)
            var stop: String? = nil
            var changedTo: RescanDatabaseVersion? = nil
            for index in progress.trees.indices where !progress.trees[index].done {
                let end = runTree(index, tracker: tracker, version: version, started: started, stats: &stats)
                if let failure = tracker.failure { throw failure }
                switch end {
                case .finished: continue
                case .stopped(let reason): stop = reason
                case .versionChanged(let new): changedTo = new
                }
                break
            }
            if let new = changedTo {
                events(.versionChanged(from: version, to: new))
                log(LOG_INFO, "signature databases changed (\(version) → \(new)): the rescan starts a new pass")
                version = new
                continue
            }
            if let stop {
                let final = try tracker.finish(completed: false)
                log(LOG_INFO, "rescan stopped (\(stop)): \(final.filesDone)/\(final.filesTotal.map(String.init) ?? "?") files done; the next run resumes")
                return stats.summary(.stopped(reason: stop), final, started: started)
            }
            let final = try tracker.finish(completed: true)
            log(LOG_INFO, "rescan of the clean trees completed: \(final.filesDone) files, \(final.bytesDone) bytes, \(final.detections) detections, \(final.errors) errors in \(Int(final.lastCompletedDuration ?? 0))s")
            return stats.summary(.completed, final, started: started)
        }
    }

    // MARK: Deciding what to do

    private enum Decision {
        case alreadyComplete(RescanProgress)
        case resume(RescanProgress)
        case fresh(RescanProgress, reason: String)
    }

    private func decide(store: RescanStateStore, version: RescanDatabaseVersion) throws(RescanError) -> Decision {
        var base = RescanProgress()
        base.started = WallClock.now()
        base.databaseVersion = version.daily
        base.mainVersion = version.main
        base.engine = scanner.engineName
        base.pid = getpid()
        base.trees = configuration.trees.map { RescanProgress.TreeProgress(queue: $0.queue, path: $0.clean) }
        let previous: RescanProgress
        switch try store.load() {
        case .none:
            return .fresh(base, reason: "no state file yet")
        case .unreadable(let why):
            if configuration.newPass { return .fresh(base, reason: "a new pass was asked for (the state file did not parse)") }
            throw RescanError(.stateInvalid, "the rescan state file \(store.path) does not parse (\(why)): not trusted; --new-pass starts a new pass")
        case .progress(let loaded):
            // A wrong checkpoint would skip files silently: validate before using anything of it.
            let problems = RescanStateValidation.problems(loaded)
            if !problems.isEmpty {
                if configuration.newPass { return .fresh(base, reason: "a new pass was asked for (the state file was invalid: \(problems.joined(separator: "; ")))") }
                throw RescanError(.stateInvalid, "the rescan state file \(store.path) is invalid: \(problems.joined(separator: "; ")): not trusted; --new-pass starts a new pass")
            }
            previous = loaded
        }
        base.lastCompletedAt = previous.lastCompletedAt
        base.lastCompletedDuration = previous.lastCompletedDuration
        let sameDatabases = previous.databaseVersion == version.daily && previous.mainVersion == version.main
        let sameTrees = previous.trees.map { [$0.queue, $0.path] } == configuration.trees.map { [$0.queue, $0.clean] }
        if !sameDatabases {
            return .fresh(base, reason: "new signature databases (\(version); the last pass ran with daily \(previous.databaseVersion.map(String.init) ?? "none"), main \(previous.mainVersion.map(String.init) ?? "none"))")
        }
        if !sameTrees { return .fresh(base, reason: "the clean trees changed") }
        if previous.completed {
            if configuration.newPass { return .fresh(base, reason: "a new pass was asked for") }
            return .alreadyComplete(previous)
        }
        let infected = Dictionary(configuration.trees.map { ($0.clean, $0.infected) }, uniquingKeysWith: { a, _ in a })
        let problems = RescanStateValidation.checkpointProblems(previous, infected: { infected[$0.path] })
        if !problems.isEmpty {
            if configuration.newPass { return .fresh(base, reason: "a new pass was asked for (the state file was invalid: \(problems.joined(separator: "; ")))") }
            throw RescanError(.stateInvalid, "the rescan state file \(store.path) is invalid: \(problems.joined(separator: "; ")): not trusted; --new-pass starts a new pass")
        }
        return .resume(previous)
    }

    /// The quick first walk: files and bytes in the clean trees (2 threads, statx only).
    static func count(_ trees: [RescanTree]) -> (files: Int, bytes: Int64) {
        var files = 0
        var bytes: Int64 = 0
        for tree in trees {
            guard let parts = try? DirectoryWalker(threads: 2).walk(root: tree.clean, makeVisitor: { CountingVisitor() }) else { continue }
            for part in parts {
                files += part.files
                bytes += part.bytes
            }
        }
        return (files, bytes)
    }

    // MARK: One tree

    private enum TreeEnd {
        case finished
        case stopped(String)
        case versionChanged(RescanDatabaseVersion)
    }

    private func runTree(_ index: Int, tracker: ProgressTracker, version: RescanDatabaseVersion, started: Double,
                         stats: inout RunStats) -> TreeEnd {
        let tree = configuration.trees[index]
        events(.treeStarted(tree))
        let resumePoint = tracker.beginTree(index)
        var walk: SortedTreeWalk
        do {
            walk = try SortedTreeWalk(root: tree.clean, after: resumePoint.checkpoint)
        } catch {
            tracker.fail(RescanError(.treeMissing, "cannot open the clean tree \(tree.clean) of queue \(tree.queue): \(error)", cause: error))
            return .finished
        }
        var doneBeyond = Set(resumePoint.doneBeyond)
        for name in SafeMover(queue: Self.moverQueue(tree)).removeStaleTemporaries(in: tree.infected) {
            log(LOG_INFO, "rescan: removed \(tree.infected)/\(name), left by an interrupted cross-filesystem move")
        }
        recoverMoves(tree, tracker: tracker)
        let queue = RescanWorkQueue<WorkItem>()
        // How far past the oldest unfinished file the others may run. Files finished beyond the
        // checkpoint are listed in the state file (so a kill repeats none of them); a wide window
        // keeps a thread busy while another scans one big file, a bounded one keeps that list short.
        let window = max(64, configuration.jobs * 16)
        let workerStats = LockedStats()
        let threads = (0..<configuration.jobs).map { _ in
            spawnThread { [self] in
                while let item = queue.pop() {
                    tracker.waitWhileYielding()  // files already handed out wait too
                    let result = process(item, tree: tree, tracker: tracker)
                    workerStats.add(result)
                    tracker.complete(item.sequence, result: result)
                }
            }
        }
        let pacer = configuration.maxRate.map { Pacer(rate: $0) }
        var sequence = 0
        var lastBacklogCheck = -Double.infinity
        var lastVersionCheck = MonotonicClock.now()
        var end = TreeEnd.finished
        var reportedProblems = 0
        while true {
            // Hand out a file only when a thread is about to be free, so the checks below (stop,
            // new databases, incoming backlog) come at most one file per thread before it starts.
            queue.waitUntilWaiting(fewerThan: configuration.jobs)
            tracker.wait(untilInFlightBelow: window, next: sequence)
            if tracker.failure != nil { break }
            if shouldStop() { end = .stopped("asked to stop"); break }
            if let limit = configuration.stopAfter, MonotonicClock.now() - started >= limit {
                end = .stopped("--stop-after \(PerfDatum.format(limit))s reached")
                break
            }
            if let versionProbe, MonotonicClock.now() - lastVersionCheck >= configuration.versionCheckInterval {
                lastVersionCheck = MonotonicClock.now()
                if let current = versionProbe(), current != version { end = .versionChanged(current); break }
            }
            if MonotonicClock.now() - lastBacklogCheck >= configuration.yieldCheckInterval {
                lastBacklogCheck = MonotonicClock.now()
                if let stopReason = yieldWhileBacklogged(tracker: tracker, started: started, stats: &stats) {
                    end = .stopped(stopReason)
                    break
                }
                lastBacklogCheck = MonotonicClock.now()
            }
            guard let entry = walk.next() else { break }
            while reportedProblems < walk.problems.count {
                let (path, error) = walk.problems[reportedProblems]
                reportedProblems += 1
                events(.unreadableDirectory(queue: tree.queue, path: path.isEmpty ? "." : PathEscaping.display(path), errno: error))
                log(LOG_ERR, "rescan: cannot read directory \(PathEscaping.display(path)) in \(tree.clean): \(RescanError.text(error))")
                tracker.countDirectoryError()
            }
            if doneBeyond.remove(entry.relativePath) != nil { continue }
            if SafeMover.isTemporary(name: entry.name) { continue }  // a drain's copy in progress
            if entry.kind != .regular {
                let result = FileResult(path: entry.relativePath, kind: .skipped(entry.kind))
                events(.skipped(queue: tree.queue, path: PathEscaping.display(entry.relativePath), kind: entry.kind))
                tracker.complete(sequence, result: result)
                sequence += 1
                continue
            }
            queue.push(WorkItem(sequence: sequence, entry: entry, pacer: pacer))
            sequence += 1
        }
        while reportedProblems < walk.problems.count {
            let (path, error) = walk.problems[reportedProblems]
            reportedProblems += 1
            events(.unreadableDirectory(queue: tree.queue, path: path.isEmpty ? "." : PathEscaping.display(path), errno: error))
            log(LOG_ERR, "rescan: cannot read directory \(PathEscaping.display(path)) in \(tree.clean): \(RescanError.text(error))")
            tracker.countDirectoryError()
        }
        // Stopping: files handed out but not started are dropped (not done; the next run scans them).
        if case .finished = end { queue.close() } else { queue.close(discardingWaiting: true) }
        for thread in threads { pthread_join(thread, nil) }
        stats.merge(workerStats.value)
        if case .finished = end, tracker.failure == nil { tracker.endTree(index) }
        return end
    }

    /// Settles the moves a killed run left unfinished: a file no longer in the clean tree was moved
    /// (counted now, and journaled if the killed run had not); one still there is scanned again.
    private func recoverMoves(_ tree: RescanTree, tracker: ProgressTracker) {
        for file in tracker.movingFiles {
            guard let relative = RescanPath.unescape(file.path) else { tracker.dropMove(file.path); continue }
            var full = Array(tree.clean.utf8)
            full.append(UInt8(ascii: "/"))
            full.append(contentsOf: relative)
            var info = stat()
            if lstat(cString(full), &info) == 0 {
                tracker.dropMove(file.path)
                continue
            }
            if !file.journaled {
                journal(JournalRecord(time: WallClock.now(), queue: tree.queue, path: file.path, size: file.size,
                                      placed: file.placed, scanned: WallClock.now(), verdict: "infected",
                                      signature: file.signature, duration: 0, source: "rescan",
                                      engine: scanner.engineName, action: "moved"))
            }
            log(LOG_WARNING, "rescan: infected file \(tree.clean)/\(file.path) (queue \(tree.queue)): \(file.signature); its move finished before the last run stopped")
            tracker.recoverMove(file)
        }
    }

    /// While an incoming queue has files older than `yieldAfter`, waits (in-flight scans finish).
    /// Returns a reason when asked to stop meanwhile.
    private func yieldWhileBacklogged(tracker: ProgressTracker, started: Double, stats: inout RunStats) -> String? {
        guard var backlog = oldestBacklog() else { return nil }
        let since = MonotonicClock.now()
        tracker.setYielding(since: WallClock.now())
        events(.yielding(queue: backlog.queue, files: backlog.files, oldestAge: backlog.oldestAge))
        log(LOG_INFO, "rescan yields: queue \(backlog.queue) has \(backlog.files) files waiting longer than \(PerfDatum.format(configuration.yieldAfter))s (oldest \(Int(backlog.oldestAge))s)")
        var reason: String? = nil
        while true {
            if shouldStop() { reason = "asked to stop"; break }
            if let limit = configuration.stopAfter, MonotonicClock.now() - started >= limit {
                reason = "--stop-after \(PerfDatum.format(limit))s reached"
                break
            }
            sleepSeconds(configuration.yieldCheckInterval)
            guard let next = oldestBacklog() else { break }
            backlog = next
        }
        let waited = MonotonicClock.now() - since
        stats.yieldedSeconds += waited
        tracker.setYielding(since: nil)
        if reason == nil {
            events(.yieldEnded(seconds: waited))
            log(LOG_INFO, "rescan resumes after yielding \(Int(waited))s to incoming files")
        }
        return reason
    }

    /// The first incoming queue with files older than `yieldAfter`, if any.
    private func oldestBacklog() -> (queue: String, files: Int, oldestAge: Double)? {
        let now = WallClock.now()
        for queue in configuration.incomingQueues {
            let options = SnapshotOptions(ageSource: configuration.ageSource, topN: 0, olderThan: [configuration.yieldAfter], threads: 1, sampleLimit: 0)
            guard let snapshot = try? QueueSnapshot.take(queue, now: now, options: options) else { continue }
            if let old = snapshot.count(olderThan: configuration.yieldAfter), old > 0 {
                return (queue.name, old, snapshot.oldestAge ?? 0)
            }
        }
        return nil
    }

    // MARK: One file

    struct WorkItem: Sendable {
        var sequence: Int
        var entry: WalkEntry
        var pacer: Pacer?
    }

    /// Scans one file and acts on the verdict; runs on a scanning thread.
    private func process(_ item: WorkItem, tree: RescanTree, tracker: ProgressTracker) -> FileResult {
        let entry = item.entry
        let display = PathEscaping.display(entry.relativePath)
        let fd = openat(entry.parent.fd, cString(entry.name), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)
        if fd < 0 {
            let error = errno
            switch error {
            case ENOENT:
                return FileResult(path: entry.relativePath, kind: .vanished)
            case ELOOP:
                events(.skipped(queue: tree.queue, path: display, kind: .symlink))
                return FileResult(path: entry.relativePath, kind: .skipped(.symlink))
            default:
                return recordError(tree, entry, display, size: 0, placed: 0, "cannot open: \(RescanError.text(error))", duration: 0)
            }
        }
        defer { close(fd) }
        guard case .success(let before) = FileMetadata.read(descriptor: fd, wantBirthTime: configuration.ageSource == .btime) else {
            return recordError(tree, entry, display, size: 0, placed: 0, "cannot fstat: \(RescanError.text(errno))", duration: 0)
        }
        guard before.kind == .regular else {
            events(.skipped(queue: tree.queue, path: display, kind: before.kind))
            return FileResult(path: entry.relativePath, kind: .skipped(before.kind))
        }
        item.pacer?.take(bytes: before.size)
        let placed = before.placed(configuration.ageSource).time
        let scanStart = MonotonicClock.now()
        var verdict = scanner.scan(fileDescriptor: fd, name: display)
        let duration = MonotonicClock.now() - scanStart
        if case .success(let after) = FileMetadata.read(descriptor: fd, wantBirthTime: false),
            after.size != before.size || after.modified != before.modified {
            verdict = .error(message: "changed while being scanned (size \(before.size) → \(after.size)); scanned again next pass")
        }
        switch verdict {
        case .clean:
            audit(JournalRecord(time: WallClock.now(), queue: tree.queue, path: display, size: before.size, placed: placed,
                                scanned: WallClock.now(), verdict: "clean", duration: duration, source: "rescan",
                                engine: scanner.engineName, action: "kept"))
            return FileResult(path: entry.relativePath, kind: .clean, size: before.size)
        case .error(let message):
            return recordError(tree, entry, display, size: before.size, placed: placed, message, duration: duration)
        case .infected(let signature):
            var action: String
            var outcome: String
            var heldMatched: Int?
            if configuration.reportOnly {
                action = "report-only"
                outcome = "reported only (--report-only), left in \(tree.clean)"
            } else if case .hold(let matched) = breaker.decide(signature: signature, queue: tree.queue, path: display) {
                heldMatched = matched
                action = "held"
                outcome = "held in \(tree.clean): storm limit reached (\(matched) distinct files matched it); neither quarantined nor moved"
            } else {
                tracker.beginMove(RescanProgress.MovingFile(path: display, size: before.size, placed: placed, signature: signature))
                (action, outcome) = quarantine(fd, entry, before, tree)
            }
            let record = JournalRecord(time: WallClock.now(), queue: tree.queue, path: display, size: before.size,
                                       placed: placed, scanned: WallClock.now(), verdict: "infected", signature: signature,
                                       duration: duration, source: "rescan", engine: scanner.engineName, action: action,
                                       inode: before.inode, device: before.device)
            journal(record)
            if !configuration.reportOnly && heldMatched == nil { tracker.journaledMove(display) }
            events(.detection(queue: tree.queue, path: display, signature: signature, outcome: outcome))
            log(LOG_WARNING, "rescan: infected file \(tree.clean)/\(display) (queue \(tree.queue)): \(signature); \(outcome)")
            return FileResult(path: entry.relativePath, kind: .infected(moved: action == "moved" || action == "dropped-duplicate"),
                              size: before.size, held: heldMatched.map { (signature, $0) })
        }
    }

    /// Moves the scanned file to the infected tree with the remediation issue's ``SafeMover``: the
    /// same relative path; when a different file already has that path there, beside it under
    /// `NAME.rescan-<time>-<inode>` (never replacing it, and not leaving a known-infected file
    /// published). Returns the journal action and a sentence for the output.
    private func quarantine(_ fd: Int32, _ entry: WalkEntry, _ metadata: FileMetadata, _ tree: RescanTree) -> (String, String) {
        var rootFD = open(tree.infected, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if rootFD < 0 && errno == ENOENT {
            _ = mkdir(tree.infected, 0o775)
            rootFD = open(tree.infected, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        }
        guard rootFD >= 0 else {
            return ("kept", "NOT moved: cannot open the infected tree \(tree.infected): \(RescanError.text(errno))")
        }
        defer { close(rootFD) }
        let mover = SafeMover(queue: Self.moverQueue(tree))
        var components = entry.relativePath.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).map { Array($0) }
        let identity = FileIdentity(metadata)
        var result = mover.move(sourceDirectoryFD: entry.parent.fd, name: entry.name, fileFD: fd, identity: identity,
                                destinationRootFD: rootFD, components: components)
        if case .conflict(let why) = result {
            components[components.count - 1] = entry.name + Array(".rescan-\(Int(WallClock.now()))-\(metadata.inode)".utf8)
            result = mover.move(sourceDirectoryFD: entry.parent.fd, name: entry.name, fileFD: fd, identity: identity,
                                destinationRootFD: rootFD, components: components)
            if case .moved = result {
                let shown = PathEscaping.display(Array(components.joined(separator: [UInt8(ascii: "/")])))
                return ("moved", "moved to \(tree.infected)/\(shown) (\(why) at its own path)")
            }
        }
        let shown = PathEscaping.display(Array(components.joined(separator: [UInt8(ascii: "/")])))
        switch result {
        case .moved: return ("moved", "moved to \(tree.infected)/\(shown)")
        case .droppedDuplicate:
            return ("dropped-duplicate", "identical copy already in \(tree.infected)/\(shown); removed from \(tree.clean)")
        case .conflict(let why), .changed(let why), .failed(let why): return ("kept", "NOT moved: \(why)")
        case .gone: return ("kept", "not moved: the file left \(tree.clean) while it was scanned")
        }
    }

    /// The name SafeMover puts in its temp files: distinct from the queue's own drain, so neither
    /// ever removes the other's.
    static func moverQueue(_ tree: RescanTree) -> String { "rescan-" + tree.queue }

    private func recordError(_ tree: RescanTree, _ entry: WalkEntry, _ display: String, size: Int64, placed: Double,
                             _ message: String, duration: Double) -> FileResult {
        journal(JournalRecord(time: WallClock.now(), queue: tree.queue, path: display, size: size, placed: placed,
                              scanned: WallClock.now(), verdict: "error", signature: message, duration: duration,
                              source: "rescan", engine: scanner.engineName, action: "kept"))
        events(.scanError(queue: tree.queue, path: display, message: message))
        log(LOG_ERR, "rescan: cannot scan \(tree.clean)/\(display): \(message)")
        return FileResult(path: entry.relativePath, kind: .error, size: size)
    }

    private func journal(_ record: JournalRecord) {
        do { try ScanJournal(path: configuration.journalPath, pipeline: configuration.pipeline).append([record]) } catch {
            log(LOG_ERR, "rescan: cannot append to the scan journal \(configuration.journalPath): \(error)")
        }
        audit(record)
    }

    private func audit(_ record: JournalRecord) {
        guard let path = configuration.auditJournalPath else { return }
        try? ScanJournal(path: path, pipeline: configuration.pipeline).append([record])
    }

    private func log(_ priority: Int32, _ message: String) {
        guard configuration.syslog else { return }
        vs_syslog("virus_scan", LOG_USER, priority, message)
    }
}

// MARK: - Pieces

/// The outcome of one entry, as the progress counts it.
struct FileResult: Sendable {
    enum Kind: Sendable {
        case clean
        case infected(moved: Bool)
        case error
        case skipped(EntryKind)
        /// Gone before it could be opened: not counted.
        case vanished
    }

    var path: [UInt8]
    var kind: Kind
    var size: Int64 = 0
    /// Held by the storm breaker: the signature and the distinct files it matched.
    var held: (signature: String, matched: Int)? = nil
}

/// Counters for this run only.
struct RunStats: Sendable {
    var files = 0
    var bytes: Int64 = 0
    var detections = 0
    var errors = 0
    var yieldedSeconds = 0.0
    var held: [String: Int] = [:]
    var matched: [String: Int] = [:]

    mutating func add(_ result: FileResult) {
        if let held = result.held {
            self.held[held.signature, default: 0] += 1
            matched[held.signature] = max(matched[held.signature] ?? 0, held.matched)
        }
        switch result.kind {
        case .clean: files += 1; bytes += result.size
        case .infected: files += 1; bytes += result.size; detections += 1
        case .error: files += 1; bytes += result.size; errors += 1
        case .skipped, .vanished: break
        }
    }

    mutating func merge(_ other: RunStats) {
        files += other.files
        bytes += other.bytes
        detections += other.detections
        errors += other.errors
        yieldedSeconds += other.yieldedSeconds
        held.merge(other.held, uniquingKeysWith: +)
        matched.merge(other.matched, uniquingKeysWith: max)
    }

    func summary(_ outcome: RescanSummary.Outcome, _ progress: RescanProgress, started: Double) -> RescanSummary {
        var summary = RescanSummary(outcome: outcome, progress: progress, filesScanned: files, bytesScanned: bytes, detections: detections,
                                    errors: errors, seconds: MonotonicClock.now() - started, yieldedSeconds: yieldedSeconds)
        summary.held = held
        summary.matched = matched
        return summary
    }
}

/// Run counters shared by the scanning threads.
final class LockedStats: Sendable {
    private let stats = Mutex(RunStats())
    func add(_ result: FileResult) { stats.withLock { $0.add(result) } }
    var value: RunStats { stats.withLock { $0 } }
}

/// The completion watermark and the state file: every finished file is counted at once; the
/// checkpoint advances over the longest prefix of sequence numbers that all finished; the files
/// finished beyond it are listed. Each change is written to the state file before the next file
/// is counted.
final class ProgressTracker: @unchecked Sendable {
    private struct State {
        var progress: RescanProgress
        var tree = 0
        var nextExpected = 0
        var pending: [Int: [UInt8]] = [:]
        /// Paths done beyond the checkpoint that were loaded from the state file (a resumed pass).
        var carried: [[UInt8]] = []
        var checkpoint: [UInt8]?
        var lastDurable = MonotonicClock.now()
        var failure: RescanError?
    }

    private var mutex = pthread_mutex_t()
    private var condition = pthread_cond_t()
    private var state: State
    private let store: RescanStateStore
    private let durableInterval: Double

    init(progress: RescanProgress, store: RescanStateStore, durableInterval: Double) {
        state = State(progress: progress)
        self.store = store
        self.durableInterval = durableInterval
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&condition, nil)
    }

    deinit {
        pthread_cond_destroy(&condition)
        pthread_mutex_destroy(&mutex)
    }

    private func locked<T>(_ body: (inout State) -> T) -> T {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return body(&state)
    }

    var failure: RescanError? { locked { $0.failure } }

    func fail(_ error: RescanError) { locked { if $0.failure == nil { $0.failure = error } } }

    /// Starts tree `index`; returns where a resumed pass left it.
    func beginTree(_ index: Int) -> (checkpoint: [UInt8]?, doneBeyond: [[UInt8]]) {
        locked { state in
            state.tree = index
            state.nextExpected = 0
            state.pending = [:]
            let tree = state.progress.trees[index]
            state.checkpoint = tree.checkpoint.flatMap(RescanPath.unescape)
            state.carried = tree.doneBeyond.compactMap(RescanPath.unescape)
            return (state.checkpoint, state.carried)
        }
    }

    /// Blocks until fewer than `limit` numbered files are unfinished before `next`.
    func wait(untilInFlightBelow limit: Int, next: Int) {
        pthread_mutex_lock(&mutex)
        while next - state.nextExpected >= limit && state.failure == nil {
            pthread_cond_wait(&condition, &mutex)
        }
        pthread_mutex_unlock(&mutex)
    }

    func complete(_ sequence: Int, result: FileResult) {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        switch result.kind {
        case .clean:
            state.progress.filesDone += 1
            state.progress.bytesDone += result.size
        case .infected:
            state.progress.filesDone += 1
            state.progress.bytesDone += result.size
            state.progress.detections += 1
        case .error:
            state.progress.filesDone += 1
            state.progress.bytesDone += result.size
            state.progress.errors += 1
        case .skipped:
            state.progress.skipped += 1
        case .vanished:
            break
        }
        // Files that arrived after the first walk: the totals grow, so done never exceeds them
        // (the state file's validation refuses done > total).
        if let total = state.progress.filesTotal, state.progress.filesDone > total { state.progress.filesTotal = state.progress.filesDone }
        if let total = state.progress.bytesTotal, state.progress.bytesDone > total { state.progress.bytesTotal = state.progress.bytesDone }
        state.pending[sequence] = result.path
        while let path = state.pending.removeValue(forKey: state.nextExpected) {
            state.checkpoint = path
            state.nextExpected += 1
        }
        if let checkpoint = state.checkpoint {
            state.carried.removeAll { !RescanPath.precedes(checkpoint, $0) }
        }
        var tree = state.progress.trees[state.tree]
        if case .infected = result.kind, tree.moving != nil {
            let shown = PathEscaping.display(result.path)
            tree.moving!.removeAll { $0.path == shown }
            if tree.moving!.isEmpty { tree.moving = nil }
        }
        tree.checkpoint = state.checkpoint.map { PathEscaping.display($0) }
        tree.doneBeyond = (state.carried + state.pending.values).sorted(by: RescanPath.precedes).map { PathEscaping.display($0) }
        state.progress.trees[state.tree] = tree
        save(&state)
        pthread_cond_broadcast(&condition)
    }

    /// Records that an infected file is about to be moved (written before the move).
    func beginMove(_ file: RescanProgress.MovingFile) {
        locked { state in
            state.progress.trees[state.tree].moving = (state.progress.trees[state.tree].moving ?? []) + [file]
            save(&state)
        }
    }

    /// Records that the journal has the moved file's record.
    func journaledMove(_ path: String) {
        locked { state in
            guard var moving = state.progress.trees[state.tree].moving,
                let index = moving.firstIndex(where: { $0.path == path }) else { return }
            moving[index].journaled = true
            state.progress.trees[state.tree].moving = moving
            save(&state)
        }
    }

    /// A move a killed run left unfinished whose file has left the clean tree: counted as done now.
    func recoverMove(_ file: RescanProgress.MovingFile) {
        locked { state in
            state.progress.filesDone += 1
            state.progress.bytesDone += file.size
            state.progress.detections += 1
            state.progress.trees[state.tree].moving?.removeAll { $0.path == file.path }
            if state.progress.trees[state.tree].moving?.isEmpty == true { state.progress.trees[state.tree].moving = nil }
            save(&state)
        }
    }

    /// Drops a marker whose file is still in the clean tree (it is scanned again).
    func dropMove(_ path: String) {
        locked { state in
            state.progress.trees[state.tree].moving?.removeAll { $0.path == path }
            if state.progress.trees[state.tree].moving?.isEmpty == true { state.progress.trees[state.tree].moving = nil }
            save(&state)
        }
    }

    /// The markers of tree being walked.
    var movingFiles: [RescanProgress.MovingFile] { locked { $0.progress.trees[$0.tree].moving ?? [] } }

    func countDirectoryError() {
        locked { state in
            state.progress.errors += 1
            save(&state)
        }
    }

    func setYielding(since: Double?) {
        locked { state in
            state.progress.yielding = since != nil
            state.progress.yieldingSince = since
            save(&state, forceDurable: true)
        }
        pthread_cond_broadcast(&condition)
    }

    /// Blocks a scanning thread while the pass yields.
    func waitWhileYielding() {
        pthread_mutex_lock(&mutex)
        while state.progress.yielding && state.failure == nil { pthread_cond_wait(&condition, &mutex) }
        pthread_mutex_unlock(&mutex)
    }

    func endTree(_ index: Int) {
        locked { state in
            state.progress.trees[index].done = true
            state.progress.trees[index].checkpoint = nil
            state.progress.trees[index].doneBeyond = []
            state.progress.trees[index].moving = nil
            save(&state, forceDurable: true)
        }
    }

    /// Writes the final state of this run.
    func finish(completed: Bool) throws(RescanError) -> RescanProgress {
        let result: (RescanProgress, RescanError?) = locked { state in
            state.progress.yielding = false
            state.progress.yieldingSince = nil
            if completed {
                let now = WallClock.now()
                state.progress.completed = true
                state.progress.lastCompletedAt = now
                state.progress.lastCompletedDuration = state.progress.started.map { now - $0 }
            }
            save(&state, forceDurable: true)
            return (state.progress, state.failure)
        }
        if let failure = result.1 { throw failure }
        return result.0
    }

    private func save(_ state: inout State, forceDurable: Bool = false) {
        guard state.failure == nil else { return }
        let now = MonotonicClock.now()
        let durable = forceDurable || now - state.lastDurable >= durableInterval
        if durable { state.lastDurable = now }
        state.progress.updated = WallClock.now()
        do { try store.write(state.progress, durable: durable) } catch { state.failure = error }
    }
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

/// A blocking FIFO for the scanning threads; `pop` returns nil once closed and empty.
final class RescanWorkQueue<Item>: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    private var condition = pthread_cond_t()
    private var items: [Item] = []
    private var head = 0
    private var closed = false

    init() {
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&condition, nil)
    }

    deinit {
        pthread_cond_destroy(&condition)
        pthread_mutex_destroy(&mutex)
    }

    func push(_ item: Item) {
        pthread_mutex_lock(&mutex)
        items.append(item)
        pthread_cond_broadcast(&condition)
        pthread_mutex_unlock(&mutex)
    }

    func close(discardingWaiting: Bool = false) {
        pthread_mutex_lock(&mutex)
        closed = true
        if discardingWaiting {
            items.removeAll()
            head = 0
        }
        pthread_cond_broadcast(&condition)
        pthread_mutex_unlock(&mutex)
    }

    /// Blocks while `limit` or more items wait to be taken.
    func waitUntilWaiting(fewerThan limit: Int) {
        pthread_mutex_lock(&mutex)
        while items.count - head >= limit && !closed { pthread_cond_wait(&condition, &mutex) }
        pthread_mutex_unlock(&mutex)
    }

    func pop() -> Item? {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        while head == items.count && !closed { pthread_cond_wait(&condition, &mutex) }
        guard head < items.count else { return nil }
        let item = items[head]
        head += 1
        pthread_cond_broadcast(&condition)  // a producer may wait for room
        if head > 1024 && head * 2 > items.count {
            items.removeFirst(head)
            head = 0
        }
        return item
    }
}

/// Counts regular files and their bytes (the quick first walk).
struct CountingVisitor: WalkVisitor {
    var files = 0
    var bytes: Int64 = 0
    mutating func enterDirectory(_ directory: WalkDirectory, metadata: FileMetadata?) -> FileStatPolicy { .stat }
    mutating func leaveDirectory(_ directory: WalkDirectory) {}
    mutating func regularFile(_ directory: WalkDirectory, name: UnsafeBufferPointer<UInt8>, metadata: FileMetadata?) {
        files += 1
        bytes += metadata?.size ?? 0
    }
    mutating func anomaly(_ directory: WalkDirectory, name: UnsafeBufferPointer<UInt8>, kind: EntryKind) {}
    mutating func unreadable(path: [UInt8], errno: Int32) {}
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

func sleepSeconds(_ seconds: Double) {
    guard seconds > 0 else { return }
    var request = timespec(tv_sec: Int(seconds), tv_nsec: Int((seconds - seconds.rounded(.down)) * 1e9))
    var remaining = timespec()
    while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
}
