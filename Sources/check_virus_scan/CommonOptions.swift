import ArgumentParser
import ScanCore
import ScanCoreCLI

/// Options every mode understands (shared with the remediation subcommands): ScanCoreCLI's
/// groups, the same words as the exporter's, plus the plugin's own.
struct CommonOptions: ParsableArguments {
    @OptionGroup var location: LayoutOptions
    @OptionGroup var clamd: ClamdPoolOptions
    @OptionGroup var database: DatabaseDirectoryOption

    @Option(name: [.customShort("t"), .long], help: ArgumentHelp("The plugin's own time limit (seconds, or 90s, 2m); it then exits UNKNOWN (default: \(Self.defaultTimeout)).", valueName: "seconds"))
    var timeout: String?

    /// The plugin's time limit when `-t` is not given.
    static let defaultTimeout = "10"

    @Flag(name: .shortAndLong, help: "More detail; repeat up to three times.")
    var verbose: Int

    @OptionGroup var age: AgeSourceOption

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

    var socket: [String] { clamd.socket }
    var tcp: [String] { clamd.tcp }
    var databaseDir: String { database.databaseDir }

    /// The pipeline layout from `--config`/`--root`/`--state-dir`/`--age-source`.
    func layout() throws -> PipelineLayout {
        try location.layout(ageSource: age.ageSource)
    }

    /// What `ignore-signature` needs to reach the same database directory and clamd as this check.
    var ignoreOptions: [String] {
        database.commandOptions + (clamd.firstEndpointOptions ?? [])
    }

    /// The clamd daemons: `--socket`/`--tcp` (sockets first, then TCP addresses), else the layout
    /// file's `clamd.endpoints`, else the default socket (``ClamdPool/resolve(sockets:tcp:configured:defaultSocket:)``).
    /// Only the file's `clamd:` section is read here: a layout that fails to load for another
    /// reason does not stop the clamd modes.
    func clamdPool() throws(ClamdError) -> ClamdPool {
        var configured: [ClamdEndpoint]?
        if !clamd.isGiven, let file = location.configFile, let text = try? readTextFile(file) {
            configured = try ClamdPool.configured(inConfig: text, source: file)
        }
        return try clamd.pool(configured: configured)
    }

    /// The readings a run's probes share: this pipeline, these daemons (with `clamd`'s time limits;
    /// nil: the mode talks to none), the run's clock and watchdog.
    func readings(_ context: CheckContext, listTop: Int, verbosity: Int? = nil, clamd: ClamdOptions?) -> PipelineReadings {
        PipelineReadings(now: context.now, verbosity: verbosity ?? context.verbosity, listTop: listTop, databaseDirectory: databaseDir,
                         layout: { try self.layout() }, queues: { try self.selectedQueues($0) },
                         clamd: {
                             guard let clamd else { throw CheckError(.unavailable, "this mode talks to no clamd") }
                             return try clamd.targets(self)
                         },
                         phase: context.phase)
    }

    /// The selected queues, in the order asked.
    func selectedQueues(_ layout: PipelineLayout) throws -> [QueueDefinition] {
        try layout.queues(named: location.queues)
    }
}

/// Defaults of the clamd-related options.
enum ClamdDefaults {
    static let socket = Defaults.clamdSocket
    static let databaseDirectory = Defaults.databaseDirectory
}

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
