import ArgumentParser
import ScanCore

/// Options every mode understands (shared with the remediation subcommands).
struct CommonOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Root of the pipeline tree (default \(PipelineLayout.defaultRoot)).", valueName: "dir"))
    var root: String?

    @Option(name: .long, help: ArgumentHelp("YAML configuration file naming the queues and trees (default \(PipelineLayout.defaultConfigFile) when it exists and --root is not given).", valueName: "file"))
    var config: String?

    @Option(name: .long, help: ArgumentHelp("Where the scan journal and the rescan state are kept (default \(PipelineLayout.defaultStateDirectory)).", valueName: "dir"))
    var stateDir: String?

    @Option(name: .customLong("queue"), help: ArgumentHelp("A queue to look at; repeat for several (default: every queue of the layout, incoming and draft-incoming).", valueName: "name"))
    var queues: [String] = []

    @Option(name: .long, help: ArgumentHelp("clamd's Unix socket (default \(ClamdDefaults.socket); for clamd, probe, signatures and all: the layout file's clamd.endpoints first). Those modes take several, mixed with --tcp, as a pool; rescan-clean takes one.", valueName: "path"))
    var socket: [String] = []

    @Option(name: .long, help: ArgumentHelp("A clamd TCP address; repeat, and mix with --socket, for a pool (sockets are listed first). Endpoints given on the command line replace the layout file's list.", valueName: "host:port"))
    var tcp: [String] = []

    @Option(name: .long, help: ArgumentHelp("The signature database directory.", valueName: "dir"))
    var databaseDir: String = ClamdDefaults.databaseDirectory

    @Option(name: [.customShort("t"), .long], help: ArgumentHelp("The plugin's own time limit (seconds, or 90s, 2m); it then exits UNKNOWN (default: \(Self.defaultTimeout)).", valueName: "seconds"))
    var timeout: String?

    /// The plugin's time limit when `-t` is not given.
    static let defaultTimeout = "10"

    @Flag(name: .shortAndLong, help: "More detail; repeat up to three times.")
    var verbose: Int

    @Option(name: .long, help: ArgumentHelp("Where a file's \"placed on disk\" time comes from: mtime or btime.", valueName: "source"))
    var ageSource: AgeSource?

    @Option(name: .long, help: ArgumentHelp("Measure ages from this time (epoch seconds) instead of the clock; for tests.", visibility: .hidden))
    var now: Double?

    /// `--now` must be a finite epoch time (|t| <= 10^15, see BoundedNumber): ages computed from it
    /// are then finite too.
    func validate() throws {
        if let now, !(now.isFinite && abs(now) <= BoundedNumber.maximumMagnitude) {
            throw ValidationError("--now: '\(PerfDatum.format(now))' is out of range: use epoch seconds within ±10^15")
        }
    }

    /// The time limit in seconds (more than 0, at most 10^9).
    func timeLimit() throws(CheckError) -> Double {
        let seconds = try DurationText.parse(timeout ?? Self.defaultTimeout, option: "--timeout")
        guard seconds > 0 else { throw CheckError(.invalidArgument, "--timeout: must be more than 0 seconds") }
        return seconds
    }

    /// The pipeline layout from `--config`/`--root`/`--state-dir`/`--age-source`.
    func layout() throws -> PipelineLayout {
        var layout = try PipelineLayout.load(configFile: PipelineLayout.configFile(given: config, root: root), root: root, stateDirectory: stateDir)
        if let ageSource { layout.ageSource = ageSource }
        return layout
    }

    /// What `ignore-signature` needs to reach the same database directory and clamd as this check.
    var ignoreOptions: [String] {
        var words: [String] = []
        if databaseDir != ClamdDefaults.databaseDirectory { words += ["--database-dir", databaseDir] }
        if let socket = socket.first { words += ["--socket", socket] } else if let tcp = tcp.first { words += ["--tcp", tcp] }
        return words
    }

    /// The clamd daemons: `--socket`/`--tcp` (sockets first, then TCP addresses), else the layout
    /// file's `clamd.endpoints`, else the default socket (``ClamdPool/resolve(sockets:tcp:configured:defaultSocket:)``).
    /// Only the file's `clamd:` section is read here: a layout that fails to load for another
    /// reason does not stop the clamd modes.
    func clamdPool() throws(ClamdError) -> ClamdPool {
        var configured: [ClamdEndpoint]?
        if socket.isEmpty && tcp.isEmpty, let file = PipelineLayout.configFile(given: config, root: root), let text = try? readTextFile(file) {
            configured = try ClamdPool.configured(inConfig: text, source: file)
        }
        return try ClamdPool.resolve(sockets: socket, tcp: tcp, configured: configured, defaultSocket: ClamdDefaults.socket)
    }

    /// The selected queues, in the order asked.
    func selectedQueues(_ layout: PipelineLayout) throws -> [QueueDefinition] {
        try layout.queues(named: queues)
    }
}

/// Defaults of the clamd-related options.
enum ClamdDefaults {
    static let socket = Defaults.clamdSocket
    static let databaseDirectory = Defaults.databaseDirectory
}

extension AgeSource: ExpressibleByArgument {}

/// `-w`/`-c` for modes that test one number.
struct ThresholdOptions: ParsableArguments {
    @Option(name: .shortAndLong, parsing: .unconditional, help: ArgumentHelp("Warning range (Monitoring Plugins syntax: 10, 10:, ~:10, 10:20, @10:20).", valueName: "range"))
    var warning: String?

    @Option(name: .shortAndLong, parsing: .unconditional, help: ArgumentHelp("Critical range; tested before the warning range.", valueName: "range"))
    var critical: String?

    func thresholds(_ unit: ThresholdRange.Unit) throws(CheckError) -> Thresholds {
        try Thresholds(warning: warning, critical: critical, unit: unit)
    }

    /// The ranges given, or, when neither -w nor -c is, the layout file's `thresholds:` for the mode.
    func thresholds(_ unit: ThresholdRange.Unit, configured: Thresholds?) throws(CheckError) -> Thresholds {
        if warning == nil && critical == nil, let configured { return configured }
        return try thresholds(unit)
    }
}
