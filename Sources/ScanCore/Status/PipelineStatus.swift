/// The whole pipeline at a glance, as the exporter's status page (`/`) and `/status.json` show it:
/// per queue the states the check computes (backlog, age, wait, stuck, infected), then clamd, the
/// signatures and the rescan, each judged by the check's own evaluator with ``PipelineThresholds``,
/// and for each state that is not OK the runbook step with the command to run.
public struct PipelineStatus: Codable, Sendable, Hashable {
    /// When it was gathered, epoch seconds.
    public var generated: Double
    public var version: String
    /// The worst state of every part.
    public var state: String
    /// Where the thresholds came from: `layout file` or `built-in (recommended)`.
    public var thresholds: String
    public var queues: [QueueStatus]
    /// clamd, signatures, rescan.
    public var services: [StatusPart]
    /// Backlog and wait p90 per queue over the retained history (oldest first).
    public var history: [StatusSample]
    /// Seconds the gathering took.
    public var gatherSeconds: Double

    public init(generated: Double, version: String = ScanCoreVersion.string, thresholds: String, queues: [QueueStatus],
                services: [StatusPart], history: [StatusSample] = [], gatherSeconds: Double = 0) {
        self.generated = generated
        self.version = version
        self.thresholds = thresholds
        self.queues = queues
        self.services = services
        self.history = history
        self.gatherSeconds = gatherSeconds
        let states = (queues.flatMap(\.parts) + services).map { ServiceState(label: $0.state) }
        self.state = ServiceState.worst(states).description
    }

    /// Every part that is not OK, queues first.
    public var problems: [StatusPart] { (queues.flatMap(\.parts) + services).filter { $0.state != ServiceState.ok.description } }
}

/// One queue: its numbers and its parts.
public struct QueueStatus: Codable, Sendable, Hashable {
    public var name: String
    public var directory: String
    /// nil when the queue could not be read (its parts say why).
    public var files: Int?
    public var bytes: Int64?
    public var oldestAge: Double?
    /// The oldest waiting files (escaped paths relative to the queue directory).
    public var oldest: [WaitingEntry]
    /// The wait percentile over the wait window, when files were processed in it.
    public var waitPercentile: Double?
    public var parts: [StatusPart]

    public init(name: String, directory: String, files: Int?, bytes: Int64?, oldestAge: Double?, oldest: [WaitingEntry],
                waitPercentile: Double?, parts: [StatusPart]) {
        self.name = name
        self.directory = directory
        self.files = files
        self.bytes = bytes
        self.oldestAge = oldestAge
        self.oldest = oldest
        self.waitPercentile = waitPercentile
        self.parts = parts
    }
}

public struct WaitingEntry: Codable, Sendable, Hashable {
    /// Relative to the queue directory, escaped with ``PathEscaping/display(_:)`` (lossless).
    public var path: String
    public var age: Double
    public var size: Int64

    public init(path: String, age: Double, size: Int64) {
        self.path = path
        self.age = age
        self.size = size
    }
}

/// One judged part: a check mode's report for one queue, or for clamd, the signatures or the rescan.
public struct StatusPart: Codable, Sendable, Hashable {
    /// `backlog`, `age`, `wait`, `stuck`, `infected`, `clamd`, `signatures`, `rescan`.
    public var mode: String
    public var queue: String?
    /// The clamd daemon a `clamd` part is about, when the page watches a pool (one row each).
    public var endpoint: String?
    /// `OK`, `WARNING`, `CRITICAL`, `UNKNOWN`: the check's state for the same tree and thresholds.
    public var state: String
    /// The check's status text (without the `VIRUS_SCAN STATE - ` prefix).
    public var summary: String
    public var details: [String]
    /// The check's perfdata, label → value.
    public var perfdata: [String: Double]
    /// What to do, for a state that is not OK.
    public var runbook: RunbookStep?

    public init(mode: String, queue: String?, endpoint: String? = nil, report: CheckReport, runbook: RunbookStep? = nil) {
        self.mode = mode
        self.queue = queue
        self.endpoint = endpoint
        self.state = report.state.description
        self.summary = report.summary
        self.details = Array(report.details.prefix(20))
        self.perfdata = Dictionary(report.perfdata.map { ($0.label, $0.value) }, uniquingKeysWith: { first, _ in first })
        self.runbook = report.state == .ok ? nil : runbook
    }

    /// A probe's result: its report, or (thrown) why the part could not be judged.
    init(mode: String, queue: String?, result: Result<CheckReport, any Error>, runbook: RunbookStep?) {
        switch result {
        case .success(let report): self.init(mode: mode, queue: queue, report: report, runbook: runbook)
        case .failure(let error): self.init(mode: mode, queue: queue, missing: (error as? any ScanCoreError)?.message ?? String(describing: error))
        }
    }

    /// A part that could not be gathered at all: UNKNOWN, and why.
    public init(mode: String, queue: String?, missing why: String) {
        self.mode = mode
        self.queue = queue
        self.state = ServiceState.unknown.description
        self.summary = "not available: \(why)"
        self.details = []
        self.perfdata = [:]
        self.runbook = nil
    }
}

/// A runbook step: what the state means and the exact command to run.
public struct RunbookStep: Codable, Sendable, Hashable {
    public var meaning: String
    public var command: String

    public init(meaning: String, command: String) {
        self.meaning = meaning
        self.command = command
    }
}

/// One point of the page's charts.
public struct StatusSample: Codable, Sendable, Hashable {
    public var time: Double
    /// Files waiting per queue (absent: the queue could not be read).
    public var backlog: [String: Int]
    /// Wait percentile per queue (absent: nothing processed in the window).
    public var wait: [String: Double]

    public init(time: Double, backlog: [String: Int], wait: [String: Double]) {
        self.time = time
        self.backlog = backlog
        self.wait = wait
    }

    public init(_ status: PipelineStatus) {
        self.init(
            time: status.generated,
            backlog: Dictionary(status.queues.compactMap { queue in queue.files.map { (queue.name, $0) } }, uniquingKeysWith: { a, _ in a }),
            wait: Dictionary(status.queues.compactMap { queue in queue.waitPercentile.map { (queue.name, $0) } }, uniquingKeysWith: { a, _ in a }))
    }
}

extension ServiceState {
    /// The state named by its word (`OK`, `WARNING`, `CRITICAL`; anything else is UNKNOWN).
    init(label: String) {
        self = ServiceState.allCases.first { $0.description == label } ?? .unknown
    }
}
