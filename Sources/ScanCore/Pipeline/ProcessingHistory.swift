/// A file the pipeline processed (scanned and moved, or for the exporter also a scan error), and
/// where that is known from.
public struct ProcessedRecord: Sendable, Hashable {
    /// Which source knew of the file.
    public enum Origin: String, Sendable, Hashable, CaseIterable {
        /// Only the scan journal (the file has left the outcome tree since, or the scan was an error).
        case journal
        /// Only an arrival in an outcome tree: another program (the legacy cron mover) moved it.
        case outcomeTree = "outcome tree"
        /// Both: a file `drain` or `rescan-clean` moved, seen in the journal and in the tree.
        case both = "journal and outcome tree"
    }

    public var queue: String
    /// The path relative to the queue (or outcome tree), escaped for display; where the file is now
    /// when the tree knows it.
    public var displayPath: String
    public var size: Int64
    /// When the file was placed in the queue, epoch seconds.
    public var placed: Double
    /// When it was processed (moved to clean or infected, or scanned for an error), epoch seconds:
    /// the journal's scan time, the tree's arrival (ctime), or the earlier of both.
    public var processed: Double
    /// `clean`, `infected`; nil for a scan error (``verdict`` says `error`).
    public var outcome: Outcome?
    /// The signature, when known (the journal records it; the infected tree does not).
    public var signature: String?
    /// A detection by `rescan-clean` among already published files: it counts as a quarantine,
    /// but not as processing of an upload (no wait, and it does not unstick a queue).
    public var fromRescan: Bool
    public var origin: Origin
    /// The file's device and inode, when known (every tree arrival; journal records since 0.9).
    public var device: UInt64?
    public var inode: UInt64?

    public init(queue: String, displayPath: String, size: Int64, placed: Double, processed: Double, outcome: Outcome?,
                signature: String? = nil, fromRescan: Bool = false, origin: Origin = .journal,
                device: UInt64? = nil, inode: UInt64? = nil) {
        self.queue = queue
        self.displayPath = displayPath
        self.size = size
        self.placed = placed
        self.processed = processed
        self.outcome = outcome
        self.signature = signature
        self.fromRescan = fromRescan
        self.origin = origin
        self.device = device
        self.inode = inode
    }

    /// Time from placed on disk until processed (never negative).
    public var wait: Double { max(0, processed - placed) }
    /// `clean`, `infected` or `error`.
    public var verdict: String { outcome?.rawValue ?? "error" }
}

/// What was processed within a window: **one source for the check and the exporter**, the union of
/// the scan journal's records and the outcome trees' arrivals, each file counted once.
///
/// Neither source alone is the truth. The journal knows only what `drain` and `rescan-clean` did:
/// every file another scanner moves (the legacy cron mover, a plain rename into `clean/`) is missing
/// from it, so reading only the journal gives a false OK after any drain. The trees know every
/// arrival, whoever moved it, but not scan errors, signatures or whether a detection came from a
/// rescan of published files.
///
/// **How a file in both is recognised**: a journal record and a tree arrival are the same file when
/// they have the same queue, the same outcome tree (verdict) and the **same device and inode** —
/// `drain` records the inode of the file where its move left it. The inode rather than the arrival
/// time because a rename keeps the inode exactly while ctime (the arrival) is moved again by any
/// chown, chmod or link-count change, and the journal's scan time is taken a few milliseconds after
/// the rename, so matching on time would need a tolerance with no safe value; and rather than the
/// relative path alone because a later upload of the same name that the legacy mover renames over
/// the drained file is a second processed file (another inode), and `rescan-clean` may quarantine a
/// file under a suffixed name. A record without an inode (a write that could not stat its
/// destination) matches on queue, outcome, relative path and placed time (rename keeps the mtime).
/// The merged record takes the journal's signature and rescan flag, the tree's current path, and the
/// earlier of the two times (so the exporter's tracker never counts it twice across scrapes).
///
/// Only this pipeline's journal records count (``ScanJournal/read(since:slack:allPipelines:)``);
/// the others, and unattributed records from before 0.9, are counted for the long output.
public struct ProcessingHistory: Sendable {
    /// Start of the window (epoch seconds).
    public var since: Double
    public var records: [ProcessedRecord]
    /// Trees (or the journal) that could not be read: `(what, error)`.
    public var failures: [(what: String, error: PipelineError)]
    /// What the journal read left out, nil when there is no journal file.
    public var journal: JournalRead?

    public init(since: Double, records: [ProcessedRecord], failures: [(what: String, error: PipelineError)] = [],
                journal: JournalRead? = nil) {
        self.since = since
        self.records = records
        self.failures = failures
        self.journal = journal
    }

    /// The sources read, for messages: `scan journal and outcome trees`, or `outcome trees` when no journal exists.
    public var sourceText: String { journal == nil ? "outcome trees" : "scan journal and outcome trees" }

    /// How many of `records` (by default all of them) came from each origin.
    public func originCounts(_ records: [ProcessedRecord]? = nil) -> [ProcessedRecord.Origin: Int] {
        var counts: [ProcessedRecord.Origin: Int] = [:]
        for record in records ?? self.records { counts[record.origin, default: 0] += 1 }
        return counts
    }

    /// The records at or after `since` with one of `outcomes` (for `all`, which reads once for the widest window).
    public func within(since: Double, outcomes: Set<Outcome> = Set(Outcome.allCases)) -> ProcessingHistory {
        ProcessingHistory(
            since: since, records: records.filter { $0.processed >= since && ($0.outcome.map(outcomes.contains) ?? false) },
            failures: failures, journal: journal)
    }

    /// The long output's account of where the records a mode counted (`counted`, by default all)
    /// came from and what the journal left out.
    public func sourceLines(counted: [ProcessedRecord]? = nil) -> [String] {
        var lines: [String] = []
        let counts = originCounts(counted)
        lines.append("sources: " + ProcessedRecord.Origin.allCases.map { "\(counts[$0] ?? 0) from \($0.rawValue)" }.joined(separator: ", "))
        if let journal {
            if journal.otherPipelines > 0 {
                lines.append("  \(journal.otherPipelines) journal records of other pipelines sharing the state directory skipped")
            }
            if journal.unattributed > 0 {
                lines.append("  \(journal.unattributed) unattributed journal records (no pipeline, written before 0.9) not counted; the files they moved count from the outcome trees")
            }
            if journal.malformed > 0 { lines.append("  \(journal.malformed) malformed journal lines skipped") }
            if let covers = journal.coversSince {
                lines.append("  the journal (rotated) reaches back \(DurationText.format(max(0, covers - since))) less than the window; outcome trees cover the rest")
            }
        } else {
            lines.append("  no scan journal: errors and signatures are not known")
        }
        return lines
    }

    /// How far back before the window the journal is read to recognise a tree arrival whose ctime was
    /// moved after the move (a chown): such a file was processed before the window and is not counted.
    public static let matchSlack: Double = 600

    /// Reads both sources for `queues` within `now − window … now` and merges them.
    /// - Parameters:
    ///   - includeErrors: keep the journal's scan errors (the exporter counts them; the check does not:
    ///     a file with a scan error stays queued, it is not processed).
    public static func read(
        journal: ScanJournal, queues: [QueueDefinition], outcomes: [Outcome] = Outcome.allCases, now: Double, window: Double,
        options: SnapshotOptions, includeErrors: Bool = false, phase: (String) -> Void = { _ in }
    ) -> ProcessingHistory {
        let trees = readTrees(queues: queues, outcomes: outcomes, now: now, window: window, options: options, phase: phase)
        phase("reading the scan journal \(journal.path)")
        let read = readJournal(journal, since: now - window)
        return combine(journal: read, trees: trees, queues: queues.map(\.name), outcomes: outcomes, now: now, since: now - window,
                       includeErrors: includeErrors)
    }

    /// The outcome trees' arrivals within `now − window … now`, each tree's or why it could not be read.
    public static func readTrees(
        queues: [QueueDefinition], outcomes: [Outcome] = Outcome.allCases, now: Double, window: Double,
        options: SnapshotOptions, phase: (String) -> Void = { _ in }
    ) -> [TreeReading] {
        var trees: [TreeReading] = []
        for queue in queues {
            for outcome in outcomes {
                phase("reading the \(outcome.rawValue) tree of queue \(queue.name) (\(queue.path(for: outcome)))")
                do throws(PipelineError) {
                    let snapshot = try OutcomeSnapshot.take(queue: queue, outcome: outcome, now: now, window: window, options: options)
                    trees.append(TreeReading(queue: queue.name, outcome: outcome, result: .success(snapshot.arrivals)))
                } catch {
                    trees.append(TreeReading(queue: queue.name, outcome: outcome, result: .failure(error)))
                }
            }
        }
        return trees
    }

    /// One outcome tree's arrivals in the window, or why there are none.
    public struct TreeReading: Sendable {
        public var queue: String
        public var outcome: Outcome
        public var result: Result<[ProcessedFile], PipelineError>
        public init(queue: String, outcome: Outcome, result: Result<[ProcessedFile], PipelineError>) {
            self.queue = queue
            self.outcome = outcome
            self.result = result
        }
    }

    /// The journal's records since `since − matchSlack`: nil for a journal that does not exist.
    public static func readJournal(_ journal: ScanJournal, since: Double) -> Result<JournalRead, PipelineError>? {
        guard journal.exists else { return nil }
        do throws(Errno) {
            return .success(try journal.read(since: since - matchSlack))
        } catch {
            return .failure(PipelineError(.io, "cannot read the scan journal \(journal.path): \(error)", path: journal.path, errno: error.rawValue))
        }
    }

    /// The union (see the type's documentation) of a journal read and the trees' arrivals.
    public static func combine(
        journal: Result<JournalRead, PipelineError>?, trees: [TreeReading], queues: [String], outcomes: [Outcome] = Outcome.allCases,
        now: Double, since: Double, includeErrors: Bool = false
    ) -> ProcessingHistory {
        struct Identity: Hashable { var queue: String; var outcome: Outcome; var device: UInt64; var inode: UInt64 }
        struct Fallback: Hashable { var queue: String; var outcome: Outcome; var path: String }
        var records: [ProcessedRecord] = []
        var failures: [(what: String, error: PipelineError)] = []
        var byIdentity: [Identity: Int] = [:]
        var byPath: [Fallback: [Int]] = [:]
        for tree in trees {
            switch tree.result {
            case .success(let arrivals):
                for file in arrivals {
                    byIdentity[Identity(queue: tree.queue, outcome: tree.outcome, device: file.device, inode: file.inode)] = records.count
                    byPath[Fallback(queue: tree.queue, outcome: tree.outcome, path: file.displayPath), default: []].append(records.count)
                    records.append(ProcessedRecord(
                        queue: tree.queue, displayPath: file.displayPath, size: file.size, placed: file.placed,
                        processed: file.arrived, outcome: tree.outcome, origin: .outcomeTree, device: file.device, inode: file.inode))
                }
            case .failure(let error):
                failures.append(("\(tree.outcome.rawValue) tree of queue \(tree.queue)", error))
            }
        }
        var read: JournalRead?
        var suppressed = Set<Int>()  // tree arrivals of files the journal says were processed before the window
        switch journal {
        case nil: break
        case .failure(let error):
            failures.append((what: "scan journal", error: error))
            read = JournalRead()
        case .success(var journalRead):
            let names = Set(queues)
            let wanted = Set(outcomes)
            for entry in journalRead.records where names.contains(entry.queue) && entry.scanned <= now {
                if entry.verdict == "error" {
                    if includeErrors && entry.scanned >= since {
                        records.append(ProcessedRecord(
                            queue: entry.queue, displayPath: entry.path, size: entry.size, placed: entry.placed,
                            processed: entry.scanned, outcome: nil, signature: entry.signature, fromRescan: entry.source == "rescan",
                            origin: .journal, device: entry.device, inode: entry.inode))
                    }
                    continue
                }
                // Dry runs, report-only passes and files left queued are not processing.
                guard let outcome = Outcome(rawValue: entry.verdict), wanted.contains(outcome) else { continue }
                switch entry.action {
                case nil, "moved", "dropped-duplicate": break
                default: continue
                }
                var match: Int?
                if let device = entry.device, let inode = entry.inode {
                    match = byIdentity[Identity(queue: entry.queue, outcome: outcome, device: device, inode: inode)]
                } else {
                    match = byPath[Fallback(queue: entry.queue, outcome: outcome, path: entry.path)]?
                        .first { abs(records[$0].placed - entry.placed) < 0.001 && records[$0].origin == .outcomeTree }
                }
                if let index = match, records[index].origin == .outcomeTree {
                    if entry.scanned < since {
                        suppressed.insert(index)
                        continue
                    }
                    records[index].origin = .both
                    records[index].processed = min(records[index].processed, entry.scanned)
                    records[index].placed = entry.placed
                    records[index].signature = outcome == .infected ? entry.signature : nil
                    records[index].fromRescan = entry.source == "rescan"
                } else if entry.scanned >= since {
                    records.append(ProcessedRecord(
                        queue: entry.queue, displayPath: entry.path, size: entry.size, placed: entry.placed,
                        processed: entry.scanned, outcome: outcome, signature: outcome == .infected ? entry.signature : nil,
                        fromRescan: entry.source == "rescan", origin: .journal, device: entry.device, inode: entry.inode))
                }
            }
            // The counts of what was left out cover the window only, not the slack read before it.
            journalRead.records = journalRead.records.filter { $0.scanned >= since }
            read = journalRead
        }
        if !suppressed.isEmpty {
            records = records.enumerated().filter { !suppressed.contains($0.offset) }.map(\.element)
        }
        records.sort { $0.processed != $1.processed ? $0.processed < $1.processed : $0.displayPath < $1.displayPath }
        return ProcessingHistory(since: since, records: records, failures: failures, journal: read)
    }
}
