import ArgumentParser
import ScanCore
import ScanCoreCLI

extension CheckVirusScan {
    struct Rescan: ProbeMode {
        static let defaultLock = Defaults.rescanLock
        static let configuration = CommandConfiguration(
            abstract: "Age of the running rescan (lock held) against -w/-c; otherwise time since the last completed pass against --stale.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var thresholds: ThresholdOptions
        @Option(name: .long, help: ArgumentHelp("The lock rescan-clean holds while it runs (default \(defaultLock)).", valueName: "path"))
        var lock: String = defaultLock
        @Option(name: .long, help: ArgumentHelp("The rescan state file (default <state dir>/rescan-state.json).", valueName: "path"))
        var stateFile: String?
        @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Warning range for the time since the last completed pass, when none is running (seconds; suffixes s, m, h, d).", valueName: "range"))
        var stale: String?
        @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Critical range for the time since the last completed pass.", valueName: "range"))
        var staleCritical: String?

        func probe(_ readings: PipelineReadings) throws -> CheckProbe {
            let running = try thresholds.thresholds(.seconds)
            let staleRanges = try Thresholds(warning: stale, critical: staleCritical, unit: .seconds, warningOption: "--stale", criticalOption: "--stale-critical")
            return CheckProbe.rescan(running: running, stale: staleRanges, lockPath: lock, statePath: stateFile)
        }
    }
}
