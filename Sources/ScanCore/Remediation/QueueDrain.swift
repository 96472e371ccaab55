#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Synchronization

/// `drain`: scans every waiting file of a queue and moves it to the queue's clean or infected
/// tree at the same relative path, safely (see ``SafeMover``): only `.clean` goes to clean, only
/// `.infected` to infected; errors, files over the size limit, files changed while scanning,
/// conflicts and anything that is not a regular file stay in the queue and are reported.
public struct QueueDrain: Sendable {
    public struct Configuration: Sendable {
        public var queue: QueueDefinition
        /// Files modified less than this many seconds ago are still being written: skipped.
        public var minimumAge: Double
        /// Files larger than this are an error (never clean).
        public var maximumSize: Int64
        /// Files larger than this stay queued as over clamd's limit: clamd (with AlertExceedsMax
        /// no) would answer OK without scanning all of them. nil: no such limit
        /// (``ClamdConfiguration/cleanVerdictLimit``; set only when clamd scans).
        public var clamdLimit: Int64? = nil
        /// Scanning threads.
        public var jobs: Int
        /// Scan and report what would move where; move, list and journal nothing.
        public var dryRun: Bool
        /// The lock file to hold; nil: no lock (the caller holds it).
        public var lockPath: String?
        /// Where the list of newly clean files goes; nil: no list.
        public var listDirectory: String?
        /// The scan journal; nil: no journal.
        public var journalPath: String?
        public var ageSource: AgeSource
        public var mover: SafeMover.Options
        /// Write a list file every this many newly clean files (and at the end), so a run that is
        /// killed loses at most this many list entries.
        public var listBatch: Int
        /// Wall clock (epoch seconds), replaceable in tests.
        public var clock: @Sendable () -> Double
        /// The pipeline the journal records name (``PipelineLayout/pipelineIdentity``); nil: none.
        public var pipeline: String?
        /// Only these queue-relative paths instead of walking the queue (`drain --watch`: the files
        /// its events said are complete); vanished ones are left out of the report.
        public var only: [[UInt8]]? = nil
        /// Walked files for which this returns true are left alone this run (the watcher's files in flight).
        public var skip: (@Sendable ([UInt8]) -> Bool)? = nil
        /// The journal's `source` for the files this run scans.
        public var journalSource = "drain"
        /// Checked before each file: once true, no further file is started (the files in hand finish).
        public var stopRequested: (@Sendable () -> Bool)? = nil
        /// The circuit breaker (``StormBreaker``): once one signature has matched this many distinct
        /// files (this run plus the journal's last hour for this pipeline), further files matching it
        /// are held in the queue. 0: off.
        public var stormLimit: Int = StormBreaker.defaultLimit
        /// What the advice for held files adds to `check_virus_scan ignore-signature NAME --reason …`
        /// (`--database-dir DIR`, `--socket PATH`: what this run used).
        public var ignoreOptions: [String] = []

        public init(queue: QueueDefinition, minimumAge: Double = 10, maximumSize: Int64 = 100 << 20, jobs: Int = 2,
                    dryRun: Bool = false, lockPath: String? = nil, listDirectory: String? = nil, journalPath: String? = nil,
                    ageSource: AgeSource = .mtime, mover: SafeMover.Options = SafeMover.Options(), listBatch: Int = 100,
                    clock: @escaping @Sendable () -> Double = { WallClock.now() }) {
            self.queue = queue
            self.minimumAge = minimumAge
            self.maximumSize = maximumSize
            self.jobs = max(1, jobs)
            self.dryRun = dryRun
            self.lockPath = lockPath
            self.listDirectory = listDirectory
            self.journalPath = journalPath
            self.ageSource = ageSource
            self.mover = mover
            self.listBatch = max(1, listBatch)
            self.clock = clock
        }
    }

    /// Why a file stayed in the queue.
    public enum KeptReason: Sendable, Hashable, CustomStringConvertible {
        case scanError(String)
        case tooLarge(size: Int64, limit: Int64)
        /// Larger than clamd's MaxFileSize / MaxScanSize / StreamMaxLength with AlertExceedsMax no.
        case overClamdLimit(size: Int64, limit: Int64)
        case conflict(String)
        case changed(String)
        case failed(String)
        /// More than one name for the inode (st_nlink > 1): a real upload never has one, and moving
        /// or chowning it would act on a file elsewhere (a hard link into the queue).
        case hardLinked(links: Int)

        public var description: String {
            switch self {
            case .scanError(let message): "scan error: \(message)"
            case .tooLarge(let size, let limit): "larger than the size limit (\(size) > \(limit) bytes)"
            case .overClamdLimit(let size, let limit):
                "over clamd's limit (\(size) > \(limit) bytes; with AlertExceedsMax no clamd would call it clean unscanned)"
            case .conflict(let message): "conflict: \(message)"
            case .changed(let message): "changed while scanning: \(message)"
            case .failed(let message): "move failed: \(message)"
            case .hardLinked(let links): "the file has \(links) links (a hard link to a file elsewhere?); never moved or chowned"
            }
        }
    }

    /// What became of one entry.
    public enum Disposition: Sendable, Hashable {
        case moved(Outcome)
        /// Identical content was already at the destination; the queued copy was removed.
        case droppedDuplicate(Outcome)
        /// `--dry-run`: would be moved there.
        case wouldMove(Outcome)
        case kept(KeptReason)
        /// Modified less than `minimumAge` ago.
        case tooNew
        /// Not a regular file (symlink, FIFO, socket, device): never opened, never moved.
        case notRegular(EntryKind)
        /// Vanished before it could be handled (another process moved it).
        case gone
        /// Infected, but its signature already matched `--storm-limit` distinct files (`matched`
        /// known, this one included): left in the queue untouched, neither published nor quarantined.
        case held(signature: String, matched: Int)

        public var label: String {
            switch self {
            case .moved: "moved"
            case .droppedDuplicate: "dropped-duplicate"
            case .wouldMove: "dry-run"
            case .kept: "kept"
            case .tooNew: "too-new"
            case .notRegular: "not-regular"
            case .gone: "gone"
            case .held: "held"
            }
        }
    }

    /// One entry of the queue and what became of it.
    public struct FileReport: Sendable, Hashable {
        public var relativePath: [UInt8]
        public var size: Int64
        public var verdict: ScanVerdict?
        public var disposition: Disposition
        public var scanSeconds: Double
        /// Escaped for display.
        public var displayPath: String { PathEscaping.display(relativePath) }
    }

    /// Progress as files finish.
    public struct Progress: Sendable {
        public var filesDone: Int
        public var filesTotal: Int
        public var bytesDone: Int64
        public var bytesTotal: Int64
        public var elapsed: Double
    }

    /// The whole run.
    public struct Report: Sendable {
        public var queue: QueueDefinition
        public var engine: String
        public var dryRun: Bool
        public var files: [FileReport] = []
        /// Directories that could not be read.
        public var unreadable: [(path: String, error: String)] = []
        /// Temp files of an interrupted run, removed.
        public var removedTemporaries: [String] = []
        /// List files written.
        public var listFiles: [String] = []
        /// Newly clean files whose names a line-based list cannot carry (a newline).
        public var unlistable: [String] = []
        public var listErrors: [String] = []
        public var journalErrors: [String] = []
        public var seconds: Double = 0
        /// The storm limit the run used (0: off).
        public var stormLimit: Int = 0

        public func count(_ label: String) -> Int { files.filter { $0.disposition.label == label }.count }
        public var kept: [FileReport] { files.filter { if case .kept = $0.disposition { true } else { false } } }
        public var infected: [FileReport] { files.filter { if case .infected = $0.verdict { true } else { false } } }
        public var clean: [FileReport] { files.filter { $0.verdict == .clean } }
        public var scanned: [FileReport] { files.filter { $0.verdict != nil } }
        public var notRegular: [FileReport] { files.filter { if case .notRegular = $0.disposition { true } else { false } } }
        public var bytesScanned: Int64 { scanned.reduce(0) { $0 + $1.size } }
        /// Files held by the storm breaker.
        public var held: [FileReport] { files.filter { if case .held = $0.disposition { true } else { false } } }
        /// Held files per signature, and the most distinct files the signature was seen matching.
        public var heldBySignature: [(signature: String, held: Int, matched: Int)] {
            var bySignature: [String: (held: Int, matched: Int)] = [:]
            for file in files {
                guard case .held(let signature, let matched) = file.disposition else { continue }
                let known = bySignature[signature, default: (0, 0)]
                bySignature[signature] = (known.held + 1, max(known.matched, matched))
            }
            return bySignature.map { ($0.key, $0.value.held, $0.value.matched) }
                .sorted { $0.held != $1.held ? $0.held > $1.held : $0.signature < $1.signature }
        }
        /// Whether every file that was ready got to its outcome tree.
        public var allResolved: Bool { kept.isEmpty && unreadable.isEmpty && listErrors.isEmpty && journalErrors.isEmpty }
    }

    public let configuration: Configuration
    public let scanner: any FileScanner

    public init(configuration: Configuration, scanner: any FileScanner) {
        self.configuration = configuration
        self.scanner = scanner
    }

    /// Runs the drain. Throws only before anything is touched (the lock is held, the queue or an
    /// outcome tree cannot be opened); every per-file problem is in the report.
    public func run(progress: (@Sendable (Progress) -> Void)? = nil,
                    log: @escaping @Sendable (Syslog.Priority, String) -> Void = { Syslog.send($0, $1) }) throws(RemediationError) -> Report {
        let config = configuration
        let started = MonotonicClock.now()
        var lock: QueueLock?
        if let path = config.lockPath, !config.dryRun { lock = try QueueLock.acquire(path) }
        defer { lock?.release() }

        let queue = config.queue
        let queueFD = Sys.openRaw(queue.incoming, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if queueFD < 0 {
            let error = errno
            throw RemediationError(.io, "cannot open queue \(queue.name) at \(queue.incoming): \(errnoText(error))")
        }
        defer { _ = Sys.close(queueFD) }
        var treeFDs: [Outcome: Int32] = [:]
        defer { for fd in treeFDs.values { _ = Sys.close(fd) } }
        for outcome in Outcome.allCases {
            let path = queue.path(for: outcome)
            let fd = Sys.openRaw(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            if fd < 0 {
                let error = errno
                throw RemediationError(.io, "cannot open the \(outcome.rawValue) tree \(path) of queue \(queue.name): \(errnoText(error)); create it (owner assets:assets, mode 0775)")
            }
            treeFDs[outcome] = fd
        }

        var report = Report(queue: queue, engine: scanner.engineName, dryRun: config.dryRun)
        report.stormLimit = config.stormLimit
        // The breaker counts this run plus the journal's last hour for this pipeline.
        let breaker = StormBreaker(limit: config.stormLimit)
        if breaker.enabled, let path = config.journalPath {
            do {
                let read = try ScanJournal(path: path, pipeline: config.pipeline).read(since: config.clock() - StormBreaker.journalWindow)
                breaker.seed(from: read.records)
            } catch {
                report.journalErrors.append("\(path): cannot be read for the storm limit (\(error)); counting this run's detections only")
            }
        }
        let mover = SafeMover(queue: queue.name, options: config.mover)
        let listWriter = config.listDirectory.map { AttachmentListWriter(directory: $0, queue: queue.name) }
        if !config.dryRun {
            for outcome in Outcome.allCases {
                report.removedTemporaries += mover.removeStaleTemporaries(in: queue.path(for: outcome)).map { queue.path(for: outcome) + "/" + $0 }
            }
            if let listWriter { report.removedTemporaries += listWriter.removeStaleTemporaries() }
        }

        // Walk (never following symlinks), then oldest first.
        let walked: [DrainCollector]
        if let only = config.only {
            walked = [DrainCollector.collect(only, queueFD: queueFD, wantBirthTime: config.ageSource == .btime)]
        } else {
            do {
                walked = try DirectoryWalker(threads: 2, wantBirthTime: config.ageSource == .btime).walk(root: queue.incoming) { DrainCollector() }
            } catch {
                throw RemediationError(.io, "cannot walk queue \(queue.name): \(error)", cause: error)
            }
        }
        var candidates: [(path: [UInt8], metadata: FileMetadata)] = []
        for collector in walked {
            candidates += config.skip.map { skip in collector.files.filter { !skip($0.path) } } ?? collector.files
            for anomaly in collector.anomalies {
                report.files.append(FileReport(relativePath: anomaly.path, size: 0, verdict: nil,
                                               disposition: .notRegular(anomaly.kind), scanSeconds: 0))
            }
            report.unreadable += collector.unreadable.map { (PathEscaping.display($0.path), errnoText($0.errno)) }
        }
        candidates.sort {
            $0.metadata.modified != $1.metadata.modified
                ? $0.metadata.modified < $1.metadata.modified : $0.path.lexicographicallyPrecedes($1.path)
        }
        let bytesTotal = candidates.reduce(Int64(0)) { $0 + $1.metadata.size }

        let shared = SharedState(total: candidates.count, bytesTotal: bytesTotal, listWriter: listWriter, batch: config.listBatch)
        let journal = config.journalPath.map { ScanJournal(path: $0, pipeline: config.pipeline) }
        let ready = candidates
        let next = Atomic<Int>(0)
        let cleanRoot = Array(queue.clean.utf8)
        let group = DispatchGroup()
        // With worker processes scanning, twice as many threads: while one thread moves a file
        // and fsyncs directories, another has the next file in a worker.
        let threads = scanner.concurrentScans.map { max(config.jobs, 2 * $0) } ?? config.jobs
        let workers = min(threads, max(1, candidates.count))
        let treeClean = treeFDs[.clean]!, treeInfected = treeFDs[.infected]!
        for _ in 0..<workers {
            DispatchQueue.global().async(group: group) {
                while true {
                    if config.stopRequested?() == true { break }
                    let index = next.add(1, ordering: .relaxed).oldValue
                    if index >= ready.count { break }
                    let candidate = ready[index]
                    let file = process(candidate.path, queueFD: queueFD, mover: mover,
                                       trees: [.clean: treeClean, .infected: treeInfected], breaker: breaker)
                    var record: JournalRecord?
                    if let verdict = file.verdict, !config.dryRun {
                        let now = config.clock()
                        let placed = candidate.metadata.placed(config.ageSource).time
                        var signature: String?
                        switch verdict {
                        case .infected(let name): signature = name
                        case .error(let message): signature = message
                        case .clean: signature = nil
                        }
                        // The identity of the file where the move left it (a copy across filesystems is a new
                        // inode): how readers match this record with its arrival in the tree.
                        var identity = (device: candidate.metadata.device, inode: candidate.metadata.inode)
                        if file.disposition.label == "moved", let tree = verdict == .clean ? treeClean : (signature != nil && verdict.label == "infected" ? treeInfected : nil),
                           case .success(let placedFile) = Sys.withCString(file.relativePath, { FileMetadata.read(directory: tree, name: $0, wantBirthTime: false) }) {
                            identity = (placedFile.device, placedFile.inode)
                        }
                        record = JournalRecord(time: now, queue: queue.name, path: file.displayPath, size: file.size,
                                               placed: placed, scanned: now, verdict: verdict.label, signature: signature,
                                               duration: file.scanSeconds, source: config.journalSource, engine: scanner.engineName,
                                               action: ["dropped-duplicate", "moved", "held"].contains(file.disposition.label)
                                                   ? file.disposition.label : "kept",
                                               inode: identity.inode, device: identity.device)
                    }
                    if let record, let journal {
                        do { try journal.append([record]) } catch {
                            shared.journalError("\(journal.path): \(error)")
                        }
                    }
                    Self.logFile(file, queue: queue, dryRun: config.dryRun, log: log)
                    var listed: [UInt8]?
                    if !config.dryRun, file.verdict == .clean {
                        switch file.disposition {
                        case .moved, .droppedDuplicate: listed = cleanRoot + [UInt8(ascii: "/")] + file.relativePath
                        default: break
                        }
                    }
                    let snapshot = shared.finish(file, listed: listed, started: started)
                    progress?(snapshot)
                }
            }
        }
        group.wait()
        let outcome = shared.drain()
        report.files += outcome.files
        report.listFiles = outcome.listFiles
        report.listErrors = outcome.listErrors
        report.unlistable = outcome.unlistable
        report.journalErrors += outcome.journalErrors
        report.files.sort { $0.relativePath.lexicographicallyPrecedes($1.relativePath) }
        report.seconds = MonotonicClock.now() - started
        log(.info, Self.summary(report))
        for storm in report.heldBySignature {
            log(.error, "drain \(queue.name): storm: " + StormBreaker.advice(signature: storm.signature, held: storm.held, matched: storm.matched,
                                                                         limit: config.stormLimit, ignoreCommand: StormBreaker.ignoreCommand(signature: storm.signature, options: config.ignoreOptions),
                                                                         rerun: "re-run drain with --storm-limit 0"))
        }
        return report
    }

    /// Scans and moves one file. Never throws: every outcome is a disposition.
    private func process(_ path: [UInt8], queueFD: Int32, mover: SafeMover, trees: [Outcome: Int32], breaker: StormBreaker) -> FileReport {
        let config = configuration
        var components = path.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true).map { Array($0) }
        let name = components.removeLast()
        var report = FileReport(relativePath: path, size: 0, verdict: nil, disposition: .gone, scanSeconds: 0)

        let directory: Int32
        switch Directories.openBeneath(queueFD, components[...], create: false).mapError(\.errno) {
        case .success(let fd): directory = fd
        case .failure(let error):
            if error.rawValue == ENOENT { return report }
            if error.rawValue == ELOOP || error.rawValue == ENOTDIR {
                report.disposition = .kept(.changed("a directory on its path was replaced by a symlink or a file"))
                return report
            }
            report.disposition = .kept(.failed("cannot open its directory: \(error)"))
            return report
        }
        defer { if directory != queueFD { _ = Sys.close(directory) } }

        let fd = Sys.openatRaw(directory, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)
        if fd < 0 {
            let error = errno
            switch error {
            case ENOENT: return report
            case ELOOP:
                report.disposition = .notRegular(.symlink)
            case ENXIO:
                report.disposition = .notRegular(.socket)
            default:
                if case .success(let meta) = Sys.stat(directory, name).mapError(\.errno), meta.kind != .regular {
                    report.disposition = .notRegular(meta.kind)
                } else {
                    report.disposition = .kept(.failed("cannot open: \(errnoText(error))"))
                }
            }
            return report
        }
        defer { _ = Sys.close(fd) }
        guard case .success(let before) = FileMetadata.read(descriptor: fd, wantBirthTime: false) else {
            report.disposition = .kept(.failed("cannot stat the open file"))
            return report
        }
        report.size = before.size
        guard before.kind == .regular else {
            report.disposition = .notRegular(before.kind)
            return report
        }
        // Link count and access time, before the scan reads the file (and may move its atime).
        guard case .success(let raw) = Sys.fstat(fd) else {
            report.disposition = .kept(.failed("cannot stat the open file"))
            return report
        }
        if raw.st_nlink > 1 {
            report.disposition = .kept(.hardLinked(links: Int(raw.st_nlink)))
            return report
        }
        if config.clock() - before.modified < config.minimumAge {
            report.disposition = .tooNew
            return report
        }
        if before.size > config.maximumSize {
            let reason = KeptReason.tooLarge(size: before.size, limit: config.maximumSize)
            report.verdict = .error(message: reason.description)
            report.disposition = .kept(reason)
            return report
        }
        if let limit = config.clamdLimit, before.size > limit {
            let reason = KeptReason.overClamdLimit(size: before.size, limit: limit)
            report.verdict = .error(message: reason.description)
            report.disposition = .kept(reason)
            return report
        }
        _ = Sys.setStatusFlags(fd, O_RDONLY)  // blocking reads from here on
        let identity = FileIdentity(before, accessed: FileIdentity.Timestamp(seconds: raw.st_atim.tv_sec,
                                                                             nanoseconds: raw.st_atim.tv_nsec))
        let scanStart = MonotonicClock.now()
        let verdict = scanner.scan(fileDescriptor: fd, name: report.displayPath)
        report.scanSeconds = MonotonicClock.now() - scanStart
        report.verdict = verdict

        // Still the same file, unchanged, at the same name?
        switch Sys.stat(directory, name).mapError(\.errno) {
        case .failure(let error):
            if error.rawValue == ENOENT { report.disposition = .gone; return report }
            report.disposition = .kept(.failed("cannot stat it after the scan: \(error)"))
            return report
        case .success(let nameNow):
            guard identity.sameInode(nameNow) else {
                report.disposition = .kept(.changed("replaced by another entry during the scan"))
                return report
            }
            guard identity.unchanged(nameNow), case .success(let openNow) = FileMetadata.read(descriptor: fd, wantBirthTime: false),
                  identity.unchanged(openNow) else {
                report.disposition = .kept(.changed("size or modification time changed during the scan"))
                return report
            }
        }

        let outcome: Outcome
        switch verdict {
        case .error(let message):
            report.disposition = .kept(.scanError(message))
            return report
        case .clean: outcome = .clean
        case .infected(let signature):
            // The breaker: past the storm limit, the file stays exactly where it is.
            if case .hold(let matched) = breaker.decide(signature: signature, queue: config.queue.name, path: report.displayPath) {
                report.disposition = .held(signature: signature, matched: matched)
                return report
            }
            outcome = .infected
        }
        if config.dryRun {
            report.disposition = .wouldMove(outcome)
            return report
        }
        switch mover.move(sourceDirectoryFD: directory, name: name, fileFD: fd, identity: identity,
                          destinationRootFD: trees[outcome]!, components: components + [name]) {
        case .moved: report.disposition = .moved(outcome)
        case .droppedDuplicate: report.disposition = .droppedDuplicate(outcome)
        case .conflict(let message): report.disposition = .kept(.conflict(message))
        case .changed(let message): report.disposition = .kept(.changed(message))
        case .gone: report.disposition = .gone
        case .failed(let message): report.disposition = .kept(.failed(message))
        }
        return report
    }

    private static func logFile(_ file: FileReport, queue: QueueDefinition, dryRun: Bool, log: (Syslog.Priority, String) -> Void) {
        let source = queue.incoming + "/" + file.displayPath
        let prefix = dryRun ? "dry run: " : ""
        switch (file.verdict, file.disposition) {
        case (.infected(let signature)?, .moved), (.infected(let signature)?, .droppedDuplicate):
            log(.warning, "File \(source) infected (\(signature)); moved to \(queue.infected)/\(file.displayPath)")
        case (.infected(let signature)?, .wouldMove):
            log(.warning, "\(prefix)File \(source) infected (\(signature))")
        case (_, .kept(let reason)):
            log(.error, "\(prefix)File \(source) left in the queue: \(reason)")
        case (_, .held(let signature, let matched)):
            log(.warning, "\(prefix)File \(source) infected (\(signature)); held in the queue: storm limit reached (\(matched) distinct files matched it)")
        default:
            break
        }
    }

    /// The summary line (also syslogged).
    public static func summary(_ report: Report) -> String {
        let seconds = (report.seconds * 10).rounded() / 10
        var parts = [
            "\(report.scanned.count) scanned",
            "\(report.clean.count) clean",
            "\(report.infected.count) infected",
            "\(report.files.filter { if case .error = $0.verdict { true } else { false } }.count) errors",
            "\(report.count("moved")) moved",
            "\(report.count("dropped-duplicate")) duplicates dropped",
            "\(report.kept.count) left queued",
            "\(report.count("too-new")) too new",
            "\(report.notRegular.count) not regular files",
        ]
        if report.dryRun { parts.insert("dry run", at: 0) }
        if !report.held.isEmpty { parts.append("\(report.held.count) held (storm limit \(report.stormLimit))") }
        return "drain \(report.queue.name) (\(report.engine)): " + parts.joined(separator: ", ") + " in \(seconds)s"
    }
}

/// Collects what the walk finds (one per walker thread).
struct DrainCollector: WalkVisitor {
    var files: [(path: [UInt8], metadata: FileMetadata)] = []
    var anomalies: [(path: [UInt8], kind: EntryKind)] = []
    var unreadable: [(path: [UInt8], errno: Int32)] = []

    mutating func enterDirectory(_ directory: WalkDirectory, metadata: FileMetadata?) -> FileStatPolicy { .stat }
    mutating func leaveDirectory(_ directory: WalkDirectory) {}
    mutating func regularFile(_ directory: WalkDirectory, name: UnsafeBufferPointer<UInt8>, metadata: FileMetadata?) {
        guard let metadata else { return }
        files.append((directory.child(name), metadata))
    }
    mutating func anomaly(_ directory: WalkDirectory, name: UnsafeBufferPointer<UInt8>, kind: EntryKind) {
        anomalies.append((directory.child(name), kind))
    }
    mutating func unreadable(path: [UInt8], errno: Int32) {
        unreadable.append((path, errno))
    }

    /// What a walk would have found of `paths` alone (no symlink followed on the way).
    static func collect(_ paths: [[UInt8]], queueFD: Int32, wantBirthTime: Bool) -> DrainCollector {
        var collector = DrainCollector()
        for path in paths {
            var components = path.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true).map { Array($0) }
            guard let name = components.popLast() else { continue }
            let directory: Int32
            switch Directories.openBeneath(queueFD, components[...], create: false).mapError(\.errno) {
            case .success(let fd): directory = fd
            case .failure(let error):
                if error.rawValue != ENOENT { collector.unreadable.append((path, error.rawValue)) }
                continue
            }
            defer { if directory != queueFD { _ = Sys.close(directory) } }
            switch Sys.withCString(name, { FileMetadata.read(directory: directory, name: $0, wantBirthTime: wantBirthTime) }) {
            case .success(let metadata):
                switch metadata.kind {
                case .regular: collector.files.append((path, metadata))
                case .directory: break
                default: collector.anomalies.append((path, metadata.kind))
                }
            case .failure(let error):
                if error.rawValue != ENOENT { collector.unreadable.append((path, error.rawValue)) }
            }
        }
        return collector
    }
}

/// What the scanning threads share: results, the pending list entries, progress.
private final class SharedState: Sendable {
    struct Outcome {
        var files: [QueueDrain.FileReport] = []
        var pendingList: [[UInt8]] = []
        var listFiles: [String] = []
        var listErrors: [String] = []
        var unlistable: [String] = []
        var journalErrors: [String] = []
        var done = 0
        var bytesDone: Int64 = 0
    }
    let state = Mutex(Outcome())
    let total: Int
    let bytesTotal: Int64
    let listWriter: AttachmentListWriter?
    let batch: Int

    init(total: Int, bytesTotal: Int64, listWriter: AttachmentListWriter?, batch: Int) {
        self.total = total
        self.bytesTotal = bytesTotal
        self.listWriter = listWriter
        self.batch = batch
    }

    func journalError(_ message: String) {
        state.withLock { $0.journalErrors.append(message) }
    }

    func finish(_ file: QueueDrain.FileReport, listed: [UInt8]?, started: Double) -> QueueDrain.Progress {
        state.withLock { state in
            state.files.append(file)
            state.done += 1
            state.bytesDone += file.size
            if let listed {
                if listed.contains(UInt8(ascii: "\n")) {
                    state.unlistable.append(PathEscaping.display(listed))
                } else {
                    state.pendingList.append(listed)
                }
            }
            if let listWriter, state.pendingList.count >= batch {
                flush(&state, listWriter)
            }
            return QueueDrain.Progress(filesDone: state.done, filesTotal: total, bytesDone: state.bytesDone,
                                       bytesTotal: bytesTotal, elapsed: MonotonicClock.now() - started)
        }
    }

    private func flush(_ state: inout Outcome, _ writer: AttachmentListWriter) {
        guard !state.pendingList.isEmpty else { return }
        do {
            state.listFiles.append(try writer.write(state.pendingList))
        } catch {
            state.listErrors.append(error.message + " (\(state.pendingList.count) paths not listed)")
        }
        state.pendingList.removeAll()
    }

    func drain() -> Outcome {
        state.withLock { state in
            if let listWriter { flush(&state, listWriter) }
            return state
        }
    }
}

extension QueueDrain.Disposition: CustomStringConvertible {
    public var description: String {
        switch self {
        case .moved(let outcome): "moved to \(outcome.rawValue)"
        case .droppedDuplicate(let outcome): "already in \(outcome.rawValue) with identical content: queued copy removed"
        case .wouldMove(let outcome): "would move to \(outcome.rawValue)"
        case .kept(let reason): "left in the queue: \(reason)"
        case .tooNew: "too new (still being written?): left for the next run"
        case .notRegular(let kind): "\(kind.rawValue): skipped (never followed or moved)"
        case .gone: "gone (moved by another process)"
        case .held(let signature, let matched):
            "held in the queue: \(signature) matched \(matched) distinct files, past the storm limit (neither published nor quarantined)"
        }
    }
}
