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
    /// Wall clock (epoch seconds) for the journal's and the state file's times; replaceable in tests.
    public var clock: @Sendable () -> Double = { WallClock.now() }

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
    case passStarted(reason: String, version: DatabaseVersion, files: Int, bytes: Int64)
    /// Continuing an unfinished pass.
    case passResumed(version: DatabaseVersion, filesDone: Int, filesTotal: Int?)
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
    case versionChanged(from: DatabaseVersion, to: DatabaseVersion)
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
