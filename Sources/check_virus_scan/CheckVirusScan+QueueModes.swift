import ArgumentParser
import ScanCore
import ScanCoreCLI

/// `--top N`: how many of the oldest files the long output lists per queue.
struct ListingOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("How many files the long output lists per queue.", valueName: "n"))
    var top: Int = 10

    func validate() throws {
        guard (0...1000).contains(top) else { throw ValidationError("--top: must be between 0 and 1000, got \(top)") }
    }
}

extension CheckMode {
    /// `--window`, when given (seconds, or with a suffix s, m, h, d).
    static func parseWindow(_ text: String?) throws(CheckError) -> Double? {
        try text.map { (text: String) throws(CheckError) -> Double in try DurationText.parse(text, option: "--window") }
    }

    /// `--percentile`: more than 0, at most 100.
    static func checkPercentile(_ percentile: Double) throws(CheckError) -> Double {
        guard percentile.isFinite, percentile > 0, percentile <= 100 else {
            throw CheckError(.invalidArgument, "--percentile: must be more than 0 and at most 100, got \(PerfDatum.format(percentile))")
        }
        return percentile
    }
}

/// backlog and age: one measure of the files waiting in the selected queues, tested against -w/-c
/// (the layout file's range when neither is given); the two differ in the measure only.
protocol WaitingFilesMode: ProbeMode, AllPart {
    var thresholds: ThresholdOptions { get }
    var listing: ListingOptions { get }
    /// The layout file's range for the measure (`thresholds.backlog` or `.age`).
    static var configured: any KeyPath<PipelineThresholds, Thresholds> & Sendable { get }
    /// The probe of the measure, given its ranges and `--top`.
    static var probe: @Sendable (Thresholds, Int) -> CheckProbe { get }
}

extension WaitingFilesMode {
    var listTop: Int { listing.top }

    func probe(_ readings: PipelineReadings) throws -> CheckProbe {
        _ = try readings.queueReadings()  // the walk's errors (layout, --queue) come before a bad range
        let configured = try readings.layout().thresholds?[keyPath: Self.configured]
        return Self.probe(try thresholds.thresholds(Self.allRanges.unit, configured: configured), listing.top)
    }
}

extension CheckVirusScan {
    struct Backlog: WaitingFilesMode {
        static let configuration = CommandConfiguration(
            abstract: "Files waiting in the selected queues together, tested against -w/-c.")
        static let allRanges = AllRanges(prefix: "backlog", part: "backlog", of: "(files)", unit: .plain)
        static let configured: any KeyPath<PipelineThresholds, Thresholds> & Sendable = \.backlog
        static let probe: @Sendable (Thresholds, Int) -> CheckProbe = CheckProbe.backlog
        @OptionGroup var common: CommonOptions
        @OptionGroup var thresholds: ThresholdOptions
        @OptionGroup var listing: ListingOptions
    }

    struct Age: WaitingFilesMode {
        static let configuration = CommandConfiguration(
            abstract: "Age in seconds of the oldest waiting file, tested against -w/-c (suffixes s, m, h, d).")
        static let allRanges = AllRanges(prefix: "age", part: "age", of: "(seconds)", unit: .seconds)
        static let configured: any KeyPath<PipelineThresholds, Thresholds> & Sendable = \.age
        static let probe: @Sendable (Thresholds, Int) -> CheckProbe = CheckProbe.age
        @OptionGroup var common: CommonOptions
        @OptionGroup var thresholds: ThresholdOptions
        @OptionGroup var listing: ListingOptions
    }

    struct Wait: ProbeMode, AllPart {
        static let configuration = CommandConfiguration(
            abstract: "A percentile of the wait of the files processed within --window, tested against -w/-c (seconds).")
        static let allRanges = AllRanges(prefix: "wait", part: "wait", of: "(seconds)", unit: .seconds)
        @OptionGroup var common: CommonOptions
        @OptionGroup var thresholds: ThresholdOptions
        @OptionGroup var listing: ListingOptions
        @Option(name: .long, help: ArgumentHelp("The percentile tested (0 < p <= 100; default: the layout file's thresholds.wait.percentile, else 90).", valueName: "p"))
        var percentile: Double?
        @Option(name: .long, help: ArgumentHelp("How far back processed files count (default: the layout file's thresholds.wait.window, else 10m).", valueName: "duration"))
        var window: String?

        func probe(_ readings: PipelineReadings) throws -> CheckProbe {
            let configured = try readings.layout().thresholds
            let ranges = try thresholds.thresholds(.seconds, configured: configured?.wait)
            let span = try Self.parseWindow(window) ?? configured?.waitWindow ?? 600
            let percentile = try Self.checkPercentile(self.percentile ?? configured?.waitPercentile ?? 90)
            return CheckProbe.wait(window: span, percentile: percentile, thresholds: ranges, topN: listing.top)
        }
    }

    struct Stuck: ProbeMode {
        static let configuration = CommandConfiguration(
            abstract: "CRITICAL when a file has waited longer than --window and nothing was processed within it.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var listing: ListingOptions
        @Option(name: .long, help: ArgumentHelp("How long a file may wait while nothing is processed (default: the layout file's thresholds.stuck.window, else 30m).", valueName: "duration"))
        var window: String?
        var listTop: Int { listing.top }

        func probe(_ readings: PipelineReadings) throws -> CheckProbe {
            let given = try Self.parseWindow(window)  // before the layout: a bad --window is the first error
            return CheckProbe.stuck(window: try given ?? readings.layout().thresholds?.stuckWindow ?? 1800, topN: listing.top)
        }
    }

    struct Infected: ProbeMode, AllPart {
        static let configuration = CommandConfiguration(
            abstract: "Files quarantined within --window, tested against -w/-c; listed in the long output.")
        static let allRanges = AllRanges(prefix: "infected", part: "infected", of: "(files)", unit: .plain)
        @OptionGroup var common: CommonOptions
        @OptionGroup var thresholds: ThresholdOptions
        @OptionGroup var listing: ListingOptions
        @Option(name: .long, help: ArgumentHelp("How far back quarantined files count (default: the layout file's thresholds.infected.window, else 24h).", valueName: "duration"))
        var window: String?
        @Option(name: .long, help: ArgumentHelp("WARNING when one signature quarantined at least COUNT distinct files in the window, CRITICAL at CRIT (default twice COUNT); the message names the signature and the ignore-signature command.", valueName: "count[:crit]"))
        var storm: String?

        func probe(_ readings: PipelineReadings) throws -> CheckProbe {
            let given = try Self.parseWindow(window)  // before the layout: a bad --window is the first error
            let stormThresholds = try storm.map { text throws(CheckError) in try StormThresholds(parsing: text) }
            let configured = try readings.layout().thresholds
            return CheckProbe.infected(window: given ?? configured?.infectedWindow ?? 86400, thresholds: try thresholds.thresholds(.plain, configured: configured?.infected),
                                 topN: listing.top, storm: stormThresholds, ignoreOptions: common.ignoreOptions)
        }
    }
}
