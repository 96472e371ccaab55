#if canImport(Glibc)
import Glibc
#endif

/// One file of the rescan, on a scanning thread: open it without following links, scan it, check
/// it did not change meanwhile, then act on the verdict (keep, hold, quarantine with
/// ``SafeMover``) and journal, report and log what happened.
struct RescanFileProcessor: Sendable {
    let configuration: RescanConfiguration
    let scanner: any FileScanner
    let breaker: StormBreaker
    let events: @Sendable (RescanEvent) -> Void
    /// Syslog (already off when the configuration says so).
    let log: @Sendable (Syslog.Priority, String) -> Void

    struct WorkItem: Sendable {
        var sequence: Int
        var entry: WalkEntry
        var pacer: Pacer?
    }

    /// Scans one file and acts on the verdict; runs on a scanning thread.
    func process(_ item: WorkItem, tree: RescanTree, tracker: ProgressTracker) -> FileResult {
        let entry = item.entry
        let display = PathEscaping.display(entry.relativePath)
        let file: FileDescriptor
        do throws(SystemError) {
            file = try FileDescriptor.open(entry.name, in: entry.parent.fd, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY)
        } catch {
            switch error.errno.rawValue {
            case ENOENT:
                return FileResult(path: entry.relativePath, kind: .vanished)
            case ELOOP:
                events(.skipped(queue: tree.queue, path: display, kind: .symlink))
                return FileResult(path: entry.relativePath, kind: .skipped(.symlink))
            default:
                return recordError(tree, entry, display, size: 0, placed: 0, "cannot open: \(error.errno)", duration: 0)
            }
        }
        defer { try? file.close() }  // also keeps `file` (and so `fd`) alive to the end
        let fd = file.rawValue
        let before: FileMetadata
        switch FileMetadata.read(descriptor: fd, wantBirthTime: configuration.ageSource == .btime) {
        case .success(let metadata): before = metadata
        case .failure(let error): return recordError(tree, entry, display, size: 0, placed: 0, "cannot fstat: \(error)", duration: 0)
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
            audit(JournalRecord(time: configuration.clock(), queue: tree.queue, path: display, size: before.size, placed: placed,
                                scanned: configuration.clock(), verdict: "clean", duration: duration, source: "rescan",
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
            let record = JournalRecord(time: configuration.clock(), queue: tree.queue, path: display, size: before.size,
                                       placed: placed, scanned: configuration.clock(), verdict: "infected", signature: signature,
                                       duration: duration, source: "rescan", engine: scanner.engineName, action: action,
                                       inode: before.inode, device: before.device)
            journal(record)
            if !configuration.reportOnly && heldMatched == nil { tracker.journaledMove(display) }
            events(.detection(queue: tree.queue, path: display, signature: signature, outcome: outcome))
            log(.warning, "rescan: infected file \(tree.clean)/\(display) (queue \(tree.queue)): \(signature); \(outcome)")
            return FileResult(path: entry.relativePath, kind: .infected(moved: action == "moved" || action == "dropped-duplicate"),
                              size: before.size, held: heldMatched.map { (signature, $0) })
        }
    }

    /// Moves the scanned file to the infected tree with ``SafeMover`` (as drain does): the
    /// same relative path; when a different file already has that path there, beside it under
    /// `NAME.rescan-<time>-<inode>` (never replacing it, and not leaving a known-infected file
    /// published). Returns the journal action and a sentence for the output.
    private func quarantine(_ fd: Int32, _ entry: WalkEntry, _ metadata: FileMetadata, _ tree: RescanTree) -> (String, String) {
        let root: FileDescriptor
        do throws(SystemError) {
            do { root = try Directories.open(tree.infected) } catch where error.errno.rawValue == ENOENT {
                _ = Sys.mkdir(tree.infected, 0o775)
                root = try Directories.open(tree.infected)
            }
        } catch {
            return ("kept", "NOT moved: cannot open the infected tree \(tree.infected): \(error.errno)")
        }
        defer { try? root.close() }  // also keeps `root` alive while `rootFD` is used
        let rootFD = root.rawValue
        let mover = SafeMover(queue: Self.moverQueue(tree))
        var components = entry.relativePath.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).map { Array($0) }
        let identity = FileIdentity(metadata)
        var result = mover.move(sourceDirectoryFD: entry.parent.fd, name: entry.name, fileFD: fd, identity: identity,
                                destinationRootFD: rootFD, components: components)
        if case .conflict(let why) = result {
            components[components.count - 1] = entry.name + Array(".rescan-\(Int(configuration.clock()))-\(metadata.inode)".utf8)
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
        journal(JournalRecord(time: configuration.clock(), queue: tree.queue, path: display, size: size, placed: placed,
                              scanned: configuration.clock(), verdict: "error", signature: message, duration: duration,
                              source: "rescan", engine: scanner.engineName, action: "kept"))
        events(.scanError(queue: tree.queue, path: display, message: message))
        log(.error, "rescan: cannot scan \(tree.clean)/\(display): \(message)")
        return FileResult(path: entry.relativePath, kind: .error, size: size)
    }

    /// Appends to the scan journal (and the audit journal); a failure is logged, not thrown.
    func journal(_ record: JournalRecord) {
        do { try ScanJournal(path: configuration.journalPath, pipeline: configuration.pipeline).append([record]) } catch {
            log(.error, "rescan: cannot append to the scan journal \(configuration.journalPath): \(error)")
        }
        audit(record)
    }

    private func audit(_ record: JournalRecord) {
        guard let path = configuration.auditJournalPath else { return }
        try? ScanJournal(path: path, pipeline: configuration.pipeline).append([record])
    }

}
