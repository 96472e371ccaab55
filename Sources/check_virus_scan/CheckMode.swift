import ArgumentParser
import ScanCore
import ScanCoreCLI

/// A monitoring mode: follows the plugin contract (one status line, perfdata, exit 0–3).
protocol CheckMode: ParsableCommand {
    var common: CommonOptions { get }
    func check(_ context: CheckContext) throws -> CheckReport
}

/// A mode that is one probe (``CheckProbe``): its options build the probe, which reads what it
/// needs through ``PipelineReadings`` (each step named for the watchdog) and hands it to its pure
/// evaluator in ScanCore. `all` runs the same probes.
protocol ProbeMode: CheckMode {
    /// How many of the oldest files the queue walk keeps (`--top`; 0 for modes that list none).
    var listTop: Int { get }
    /// The probe for these options; `readings` gives the layout, whose `thresholds:` apply where
    /// no range is given.
    func probe(_ readings: PipelineReadings) throws -> CheckProbe
}

extension ProbeMode {
    var listTop: Int { 0 }

    func check(_ context: CheckContext) throws -> CheckReport {
        let readings = common.readings(context, listTop: listTop, clamd: (self as? any UsesClamd)?.clamd)
        return try readings.run(try probe(readings))
    }
}

/// A mode with `--clamd-timeout` and `--min-up`.
protocol UsesClamd {
    var clamd: ClamdOptions { get }
}

/// What a running mode gets: the clock reading, the watchdog, and the verbosity.
final class CheckContext {
    let now: Double
    let verbosity: Int
    let watchdog: Watchdog?

    init(now: Double, verbosity: Int, watchdog: Watchdog?) {
        self.now = now
        self.verbosity = verbosity
        self.watchdog = watchdog
    }

    /// Names the step in progress for the timeout message.
    func phase(_ text: String) { watchdog?.phase = text }
}

extension CheckMode {
    /// Runs under the watchdog and renders the result; any error is one UNKNOWN line.
    func runAsPlugin() -> PluginOutput {
        let seconds: Double
        do { seconds = try common.timeLimit() } catch { return .unknown(error.message) }
        let watchdog = Watchdog(seconds: seconds, phase: "starting")
        let context = CheckContext(now: common.now ?? WallClock.now(), verbosity: common.verbose, watchdog: watchdog)
        let output: PluginOutput
        do {
            let report = try check(context)
            output = PluginOutput(text: report.render(maxDetailLines: common.verbose >= 2 ? 200 : CheckReport.defaultMaxDetailLines), exitCode: report.state.exitCode)
        } catch {
            output = .unknown(PluginOutput.describe(error))
        }
        watchdog.complete()
        return output
    }

    /// The default `run()`: used only when a mode is run through ArgumentParser's own entry point.
    func run() throws {
        let output = runAsPlugin()
        output.write()
        throw ExitCode(output.exitCode)
    }
}

/// What the plugin prints and how it exits.
struct PluginOutput: Equatable {
    var text: String
    var exitCode: Int32

    static func unknown(_ message: String) -> PluginOutput {
        PluginOutput(text: CheckReport.unknownLine(message), exitCode: ServiceState.unknown.exitCode)
    }

    func write() { Watchdog.writeAll(text, to: 1) }

    /// One line for any error: ScanCore errors carry their own one-line description.
    static func describe(_ error: any Error) -> String {
        switch error {
        case let error as CheckError: error.message
        case let error as PipelineError: error.message
        case let error as ClamdError: error.message
        case let error as DNSError: error.message
        case let error as SignatureDatabaseError: error.description
        default: String(describing: error)
        }
    }
}
