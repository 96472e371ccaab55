import ArgumentParser
import ScanCore
import ScanCoreCLI

extension CheckVirusScan {
    /// Monitoring modes: plugin contract (exit 0–3, one status line). A mode is registered here
    /// once; if it belongs in `all`, its ranges and its probe go in `All` below.
    static var modes: [any CheckMode.Type] {
        [Backlog.self, Age.self, Wait.self, Stuck.self, Infected.self, Clamd.self, Signatures.self, Probe.self, Rescan.self, All.self]
    }

    struct All: CheckMode {
        static let configuration = CommandConfiguration(
            abstract: "Every mode that applies, thresholds per mode (--backlog-warning, --age-critical, …); worst state wins.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var clamd: ClamdOptions
        @OptionGroup var clamdConfig: ClamdConfigOptions
        @OptionGroup var listing: ListingOptions

        @OptionGroup var backlog: PartRanges<Backlog>
        @OptionGroup var age: PartRanges<Age>
        @OptionGroup var wait: PartRanges<Wait>
        @Option(name: .long, help: ArgumentHelp("wait: the percentile tested (default: the layout file's thresholds.wait.percentile, else 90).", valueName: "p")) var percentile: Double?
        @Option(name: .long, help: ArgumentHelp("wait: how far back processed files count (default: thresholds.wait.window, else 10m).", valueName: "duration")) var waitWindow: String?
        @Option(name: .long, help: ArgumentHelp("stuck: how long a file may wait while nothing is processed (default: thresholds.stuck.window, else 30m).", valueName: "duration")) var stuckWindow: String?
        @OptionGroup var infected: PartRanges<Infected>
        @Option(name: .long, help: ArgumentHelp("infected: how far back quarantined files count (default: thresholds.infected.window, else 24h).", valueName: "duration")) var infectedWindow: String?
        @Option(name: .long, help: ArgumentHelp("infected: WARNING when one signature quarantined at least COUNT distinct files in the window, CRITICAL at CRIT (default twice COUNT).", valueName: "count[:crit]")) var storm: String?
        @OptionGroup var clamdRanges: PartRanges<Clamd>
        @OptionGroup var clamdScan: PartRanges<Clamd.ScanPart>
        @OptionGroup var signatureRanges: PartRanges<Signatures>
        @OptionGroup var signatures: SignaturesOptions
        @Option(name: .long, help: ArgumentHelp("A mode to leave out; repeat for several (backlog, age, wait, stuck, infected, clamd, signatures, probe).", valueName: "mode")) var skip: [String] = []

        static let parts = ["backlog", "age", "wait", "stuck", "infected", "clamd", "signatures", "probe"]

        func check(_ context: CheckContext) throws -> CheckReport {
            for name in skip where !Self.parts.contains(name) {
                throw CheckError(.invalidArgument, "--skip: unknown mode '\(name)' (one of \(Self.parts.joined(separator: ", ")))")
            }
            // A mode whose ranges, window or percentile are not given takes the layout file's
            // `thresholds:` (PipelineThresholds), as the mode run on its own does. Every option is
            // checked, skipped modes' too.
            let configured = (try? common.layout())?.thresholds
            func span(_ text: String?, _ option: String, _ fallback: Double?, _ standard: Double) throws(CheckError) -> Double {
                guard let text else { return fallback ?? standard }
                return try DurationText.parse(text, option: option)
            }
            let backlog = try backlog.thresholds(configured?.backlog)
            let age = try age.thresholds(configured?.age)
            let wait = try wait.thresholds(configured?.wait)
            let infected = try infected.thresholds(configured?.infected)
            let clamdRanges = try clamdRanges.thresholds(configured?.clamd)
            let clamdScan = try clamdScan.thresholds(configured?.clamdScan)
            let signatureRanges = try signatureRanges.thresholds(configured?.signatures)
            let waitSpan = try span(waitWindow, "--wait-window", configured?.waitWindow, 600)
            let stuckSpan = try span(stuckWindow, "--stuck-window", configured?.stuckWindow, 1800)
            let infectedSpan = try span(infectedWindow, "--infected-window", configured?.infectedWindow, 86400)
            let stormThresholds = try storm.map { text throws(CheckError) in try StormThresholds(parsing: text) }
            let signaturesProbe = try signatures.probe(signatureRanges, askClamd: true, common: common)
            let percentile = try Self.checkPercentile(self.percentile ?? configured?.waitPercentile ?? 90)

            let probes: [(part: String, probe: () -> any CheckProbe)] = [
                ("backlog", { BacklogProbe(thresholds: backlog, topN: 0) }),
                ("age", { AgeProbe(thresholds: age, topN: 0) }),
                ("wait", { WaitProbe(window: waitSpan, percentile: percentile, thresholds: wait, topN: 0) }),
                ("stuck", { StuckProbe(window: stuckSpan, topN: 0) }),
                ("infected", { InfectedProbe(window: infectedSpan, thresholds: infected, topN: 0, storm: stormThresholds, ignoreOptions: common.ignoreOptions) }),
                ("clamd", { ClamdProbe(thresholds: clamdRanges, scanThresholds: clamdScan, configuration: clamdConfig.reading()) }),
                ("signatures", { signaturesProbe }),
                ("probe", { EICARProbe() }),
            ]
            // The parts run at verbosity 0 over one set of readings: each queue walked and the
            // history read once. The walk comes first: a broken layout is UNKNOWN whatever is skipped.
            let readings = common.readings(context, listTop: listing.top, verbosity: 0, clamd: clamd)
            _ = try readings.queueReadings()
            return AllCheck.combine(try readings.run(probes.filter { !skip.contains($0.part) }.map { $0.probe() }))
        }
    }
}

/// A mode's part in `all`: the names of its `--NAME-warning`/`--NAME-critical` options and what
/// their help says the range is of.
protocol AllPart {
    /// The options' prefix (`backlog` gives `--backlog-warning`).
    static var optionPrefix: String { get }
    /// The help's words: `backlog: warning range (files).`
    static var rangeHelp: (part: String, of: String) { get }
    static var rangeUnit: ThresholdRange.Unit { get }
}

/// `--PART-warning` and `--PART-critical` for one part of `all`.
struct PartRanges<Part: AllPart>: ParsableArguments {
    @Option(name: .customLong(Part.optionPrefix + "-warning"), parsing: .unconditional,
            help: ArgumentHelp("\(Part.rangeHelp.part): warning range \(Part.rangeHelp.of).", valueName: "range"))
    var warning: String?

    @Option(name: .customLong(Part.optionPrefix + "-critical"), parsing: .unconditional,
            help: ArgumentHelp("\(Part.rangeHelp.part): critical range \(Part.rangeHelp.of).", valueName: "range"))
    var critical: String?

    /// The ranges given, or when neither is, `fallback` (the layout file's).
    func thresholds(_ fallback: Thresholds?) throws(CheckError) -> Thresholds {
        if warning == nil && critical == nil, let fallback { return fallback }
        return try Thresholds(warning: warning, critical: critical, unit: Part.rangeUnit,
                              warningOption: "--\(Part.optionPrefix)-warning", criticalOption: "--\(Part.optionPrefix)-critical")
    }
}

extension CheckVirusScan.Backlog: AllPart {
    static let optionPrefix = "backlog"
    static let rangeHelp = (part: "backlog", of: "(files)")
    static let rangeUnit = ThresholdRange.Unit.plain
}

extension CheckVirusScan.Age: AllPart {
    static let optionPrefix = "age"
    static let rangeHelp = (part: "age", of: "(seconds)")
    static let rangeUnit = ThresholdRange.Unit.seconds
}

extension CheckVirusScan.Wait: AllPart {
    static let optionPrefix = "wait"
    static let rangeHelp = (part: "wait", of: "(seconds)")
    static let rangeUnit = ThresholdRange.Unit.seconds
}

extension CheckVirusScan.Infected: AllPart {
    static let optionPrefix = "infected"
    static let rangeHelp = (part: "infected", of: "(files)")
    static let rangeUnit = ThresholdRange.Unit.plain
}

extension CheckVirusScan.Clamd: AllPart {
    static let optionPrefix = "clamd"
    static let rangeHelp = (part: "clamd", of: "for the queue length")
    static let rangeUnit = ThresholdRange.Unit.plain

    /// The longest-running scan's ranges in `all` (`--clamd-scan-warning`).
    enum ScanPart: AllPart {
        static let optionPrefix = "clamd-scan"
        static let rangeHelp = (part: "clamd", of: "for the longest-running scan (seconds)")
        static let rangeUnit = ThresholdRange.Unit.seconds
    }
}

extension CheckVirusScan.Signatures: AllPart {
    static let optionPrefix = "signatures"
    static let rangeHelp = (part: "signatures", of: "for the daily database age (seconds)")
    static let rangeUnit = ThresholdRange.Unit.seconds
}
