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
        @OptionGroup var clamdScan: PartRanges<Clamd.ScanRanges>
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

            let probes: [(part: String, probe: () -> CheckProbe)] = [
                ("backlog", { CheckProbe.backlog(thresholds: backlog, topN: 0) }),
                ("age", { CheckProbe.age(thresholds: age, topN: 0) }),
                ("wait", { CheckProbe.wait(window: waitSpan, percentile: percentile, thresholds: wait, topN: 0) }),
                ("stuck", { CheckProbe.stuck(window: stuckSpan, topN: 0) }),
                ("infected", { CheckProbe.infected(window: infectedSpan, thresholds: infected, topN: 0, storm: stormThresholds, ignoreOptions: common.ignoreOptions) }),
                ("clamd", { CheckProbe.clamd(thresholds: clamdRanges, scanThresholds: clamdScan, configuration: clamdConfig.reading()) }),
                ("signatures", { signaturesProbe }),
                ("probe", { CheckProbe.eicar() }),
            ]
            // The parts run at verbosity 0 over one set of readings: each queue walked and the
            // history read once. The walk comes first: a broken layout is UNKNOWN whatever is skipped.
            let readings = common.readings(context, listTop: listing.top, verbosity: 0, clamd: clamd)
            _ = try readings.queueReadings()
            return AllCheck.combine(try readings.run(probes.filter { !skip.contains($0.part) }.map { $0.probe() }))
        }
    }
}

/// A mode's ranges in `all`: the names of its `--PREFIX-warning`/`--PREFIX-critical` options and
/// what their help says the range is of. Each mode that has them declares its own (`allRanges`).
struct AllRanges {
    /// The options' prefix (`backlog` gives `--backlog-warning`).
    var prefix: String
    /// The help's words: `backlog: warning range (files).`
    var part: String
    var of: String
    var unit: ThresholdRange.Unit
}

/// A type naming a part's ranges in `all` (a mode, or a second range of one).
protocol AllPart {
    static var allRanges: AllRanges { get }
}

/// `--PREFIX-warning` and `--PREFIX-critical` for one part of `all`.
struct PartRanges<Part: AllPart>: ParsableArguments {
    @Option(name: .customLong(Part.allRanges.prefix + "-warning"), parsing: .unconditional,
            help: ArgumentHelp("\(Part.allRanges.part): warning range \(Part.allRanges.of).", valueName: "range"))
    var warning: String?

    @Option(name: .customLong(Part.allRanges.prefix + "-critical"), parsing: .unconditional,
            help: ArgumentHelp("\(Part.allRanges.part): critical range \(Part.allRanges.of).", valueName: "range"))
    var critical: String?

    /// The ranges given, or when neither is, `fallback` (the layout file's).
    func thresholds(_ fallback: Thresholds?) throws(CheckError) -> Thresholds {
        if warning == nil && critical == nil, let fallback { return fallback }
        let ranges = Part.allRanges
        return try Thresholds(warning: warning, critical: critical, unit: ranges.unit,
                              warningOption: "--\(ranges.prefix)-warning", criticalOption: "--\(ranges.prefix)-critical")
    }
}
