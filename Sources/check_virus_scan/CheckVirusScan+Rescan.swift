import ArgumentParser
import ScanCore

extension CheckVirusScan {
    struct Rescan: CheckMode {
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

        func check(_ context: CheckContext) throws -> CheckReport {
            let running = try thresholds.thresholds(.seconds)
            let staleRanges = try Thresholds(warning: stale, critical: staleCritical, unit: .seconds, warningOption: "--stale", criticalOption: "--stale-critical")
            context.phase("loading the pipeline layout")
            let path = try stateFile ?? common.layout().rescanStatePath
            context.phase("reading the rescan state file \(path)")
            let state = try RescanState.load(path: path)
            context.phase("looking for the holder of \(lock)")
            let holders = try LockProbe.holders(of: lock)
            var problems: [String] = []
            if state != nil, case .progress(let progress)? = try? RescanStateStore(path: path).load() {
                context.phase("validating the rescan state file \(path)")
                let infected = Dictionary(((try? common.layout().queues) ?? []).map { ($0.name, $0.infected) }, uniquingKeysWith: { a, _ in a })
                problems = RescanStateValidation.problems(progress)
                    + RescanStateValidation.checkpointProblems(progress, infected: { infected[$0.queue] })
            }
            let observation = RescanObservation(statePath: path, state: state, lockPath: lock, holders: holders, problems: problems)
            return RescanCheck.evaluate(observation, now: context.now, running: running, stale: staleRanges)
        }
    }
}
