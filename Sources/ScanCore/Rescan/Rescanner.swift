#if canImport(Glibc)
import Glibc
#endif

/// The rescan of the clean trees: resumable, polite, observable.
///
/// The trees are walked in byte order of relative paths (``SortedTreeWalk``). Files are handed to
/// `jobs` scanning threads in that order, numbered; the state file's checkpoint advances only over
/// a prefix of numbers that all finished (a completion watermark), and the files that finished
/// beyond it are listed, so a run killed at any instant rescans at most the files that were being
/// scanned. The state file is replaced atomically after every file that finishes (fsynced every
/// `durableInterval` seconds).
///
/// The rooms: ``RescanConfiguration`` (what to do), this type (the passes and the walk of each
/// tree), ``RescanFileProcessor`` (one file), ``ProgressTracker`` with its pure
/// ``CompletionWatermark`` (the state file), ``IncomingBacklog`` (when to yield), ``TreeTotals``.
public final class Rescanner: Sendable {
    public let configuration: RescanConfiguration
    let scanner: any FileScanner
    private let initialVersion: DatabaseVersion
    private let versionProbe: (@Sendable () -> DatabaseVersion?)?
    private let shouldStop: @Sendable () -> Bool
    private let events: @Sendable (RescanEvent) -> Void
    private let log: @Sendable (Syslog.Priority, String) -> Void
    private let files: RescanFileProcessor
    private let backlog: IncomingBacklog

    /// - Parameters:
    ///   - version: the databases `scanner` runs with (``FileScanner/databaseVersion(databaseDirectory:)``).
    ///   - versionProbe: asked every `versionCheckInterval` seconds for the current version (clamd
    ///     may reload); nil when it cannot change (libclamav in-process).
    ///   - shouldStop: polled before each file; true stops the run resumably (SIGTERM, SIGINT).
    ///   - log: where detections, errors and the pass's milestones go when `configuration.syslog`
    ///     is on (syslog, tag `virus_scan`, by default).
    public init(configuration: RescanConfiguration, scanner: any FileScanner, version: DatabaseVersion,
                versionProbe: (@Sendable () -> DatabaseVersion?)? = nil,
                shouldStop: @escaping @Sendable () -> Bool = { false },
                events: @escaping @Sendable (RescanEvent) -> Void = { _ in },
                log: @escaping @Sendable (Syslog.Priority, String) -> Void = { Syslog.send($0, $1) }) {
        let quiet: @Sendable (Syslog.Priority, String) -> Void = { _, _ in }
        let gated = configuration.syslog ? log : quiet
        self.configuration = configuration
        self.scanner = scanner
        self.initialVersion = version
        self.versionProbe = versionProbe
        self.shouldStop = shouldStop
        self.events = events
        self.log = gated
        self.files = RescanFileProcessor(configuration: configuration, scanner: scanner,
                                         breaker: StormBreaker(limit: configuration.stormLimit), events: events, log: gated)
        self.backlog = IncomingBacklog(queues: configuration.incomingQueues, yieldAfter: configuration.yieldAfter,
                                       ageSource: configuration.ageSource)
    }

    public func run() throws(RescanError) -> RescanSummary {
        let started = MonotonicClock.now()
        let store = RescanStateStore(path: configuration.statePath)
        for tree in configuration.trees {
            do throws(SystemError) { _ = try Directories.open(tree.clean) } catch {
                throw RescanError(.treeMissing, "cannot open the clean tree \(tree.clean) of queue \(tree.queue): \(error.errno)", cause: error.errno)
            }
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
                log(.info, "rescan of the clean trees resumed (\(version)): \(progress.filesDone)/\(progress.filesTotal.map(String.init) ?? "?") files done")
            case .fresh(let base, let reason):
                progress = base
                let totals = TreeTotals.count(configuration.trees)
                progress.filesTotal = totals.files
                progress.bytesTotal = totals.bytes
                events(.passStarted(reason: reason, version: version, files: totals.files, bytes: totals.bytes))
                log(.info, "rescan of the clean trees started (\(reason); \(version)): \(totals.files) files, \(totals.bytes) bytes")
            }
            progress.updated = configuration.clock()
            try store.write(progress, durable: true)

            let tracker = ProgressTracker(progress: progress, store: store, durableInterval: configuration.durableInterval,
                                          clock: configuration.clock)
            var stop: String? = nil
            var changedTo: DatabaseVersion? = nil
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
                log(.info, "signature databases changed (\(version) → \(new)): the rescan starts a new pass")
                version = new
                continue
            }
            if let stop {
                let final = try tracker.finish(completed: false)
                log(.info, "rescan stopped (\(stop)): \(final.filesDone)/\(final.filesTotal.map(String.init) ?? "?") files done; the next run resumes")
                return stats.summary(.stopped(reason: stop), final, started: started)
            }
            let final = try tracker.finish(completed: true)
            log(.info, "rescan of the clean trees completed: \(final.filesDone) files, \(final.bytesDone) bytes, \(final.detections) detections, \(final.errors) errors in \(Int(final.lastCompletedDuration ?? 0))s")
            return stats.summary(.completed, final, started: started)
        }
    }

    // MARK: Deciding what to do

    private enum Decision {
        case alreadyComplete(RescanProgress)
        case resume(RescanProgress)
        case fresh(RescanProgress, reason: String)
    }

    private func decide(store: RescanStateStore, version: DatabaseVersion) throws(RescanError) -> Decision {
        var base = RescanProgress()
        base.started = configuration.clock()
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

    // MARK: One tree

    private enum TreeEnd {
        case finished
        case stopped(String)
        case versionChanged(DatabaseVersion)
    }

    private func runTree(_ index: Int, tracker: ProgressTracker, version: DatabaseVersion, started: Double,
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
        for name in SafeMover(queue: RescanFileProcessor.moverQueue(tree)).removeStaleTemporaries(in: tree.infected) {
            log(.info, "rescan: removed \(tree.infected)/\(name), left by an interrupted cross-filesystem move")
        }
        recoverMoves(tree, tracker: tracker)
        let queue = BlockingQueue<RescanFileProcessor.WorkItem>()
        // How far past the oldest unfinished file the others may run. Files finished beyond the
        // checkpoint are listed in the state file (so a kill repeats none of them); a wide window
        // keeps a thread busy while another scans one big file, a bounded one keeps that list short.
        let window = max(64, configuration.jobs * 16)
        let workerStats = LockedStats()
        let threads = (0..<configuration.jobs).map { _ in
            spawnThread { [self] in
                while let item = queue.pop() {
                    tracker.waitWhileYielding()  // files already handed out wait too
                    let result = files.process(item, tree: tree, tracker: tracker)
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
        /// Reports the directories the walk could not read since the last call.
        func reportProblems() {
            while reportedProblems < walk.problems.count {
                let (path, error) = walk.problems[reportedProblems]
                reportedProblems += 1
                events(.unreadableDirectory(queue: tree.queue, path: path.isEmpty ? "." : PathEscaping.display(path), errno: error))
                log(.error, "rescan: cannot read directory \(PathEscaping.display(path)) in \(tree.clean): \(errnoText(error))")
                tracker.countDirectoryError()
            }
        }
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
            reportProblems()
            if doneBeyond.remove(entry.relativePath) != nil { continue }
            if SafeMover.isTemporary(name: entry.name) { continue }  // a drain's copy in progress
            if entry.kind != .regular {
                let result = FileResult(path: entry.relativePath, kind: .skipped(entry.kind))
                events(.skipped(queue: tree.queue, path: PathEscaping.display(entry.relativePath), kind: entry.kind))
                tracker.complete(sequence, result: result)
                sequence += 1
                continue
            }
            queue.push(RescanFileProcessor.WorkItem(sequence: sequence, entry: entry, pacer: pacer))
            sequence += 1
        }
        reportProblems()
        // Stopping: files handed out but not started are dropped (not done; the next run scans them).
        if case .finished = end { queue.close() } else { queue.close(discardingWaiting: true) }
        for thread in threads { joinThread(thread) }
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
            if case .success = Sys.stat(AT_FDCWD, full) {
                tracker.dropMove(file.path)
                continue
            }
            if !file.journaled {
                files.journal(JournalRecord(time: configuration.clock(), queue: tree.queue, path: file.path, size: file.size,
                                      placed: file.placed, scanned: configuration.clock(), verdict: "infected",
                                      signature: file.signature, duration: 0, source: "rescan",
                                      engine: scanner.engineName, action: "moved"))
            }
            log(.warning, "rescan: infected file \(tree.clean)/\(file.path) (queue \(tree.queue)): \(file.signature); its move finished before the last run stopped")
            tracker.recoverMove(file)
        }
    }

    /// While an incoming queue has files older than `yieldAfter`, waits (in-flight scans finish).
    /// Returns a reason when asked to stop meanwhile.
    private func yieldWhileBacklogged(tracker: ProgressTracker, started: Double, stats: inout RunStats) -> String? {
        guard var waiting = backlog.oldest(now: configuration.clock()) else { return nil }
        let since = MonotonicClock.now()
        tracker.setYielding(since: configuration.clock())
        events(.yielding(queue: waiting.queue, files: waiting.files, oldestAge: waiting.oldestAge))
        log(.info, "rescan yields: queue \(waiting.queue) has \(waiting.files) files waiting longer than \(PerfDatum.format(configuration.yieldAfter))s (oldest \(Int(waiting.oldestAge))s)")
        var reason: String? = nil
        while true {
            if shouldStop() { reason = "asked to stop"; break }
            if let limit = configuration.stopAfter, MonotonicClock.now() - started >= limit {
                reason = "--stop-after \(PerfDatum.format(limit))s reached"
                break
            }
            sleepSeconds(configuration.yieldCheckInterval)
            guard let next = backlog.oldest(now: configuration.clock()) else { break }
            waiting = next
        }
        let waited = MonotonicClock.now() - since
        stats.yieldedSeconds += waited
        tracker.setYielding(since: nil)
        if reason == nil {
            events(.yieldEnded(seconds: waited))
            log(.info, "rescan resumes after yielding \(Int(waited))s to incoming files")
        }
        return reason
    }
}
