import ArgumentParser
import ScanCore

/// `--top N`: how many of the oldest files the long output lists per queue.
struct ListingOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("How many files the long output lists per queue.", valueName: "n"))
    var top: Int = 10

    func validate() throws {
        guard (0...1000).contains(top) else { throw ValidationError("--top: must be between 0 and 1000, got \(top)") }
    }
}

extension CheckMode {
    /// Each queue's `drain --watch` heartbeat file, when there is one.
    func watchStates(_ layout: PipelineLayout, _ queues: [QueueDefinition]) -> [(queue: String, state: Result<WatchState?, PipelineError>)] {
        queues.map { queue in
            let path = WatchState.path(stateDirectory: layout.stateDirectory, queue: queue.name)
            do throws(PipelineError) { return (queue.name, .success(try WatchState.load(path: path))) } catch { return (queue.name, .failure(error)) }
        }
    }

    /// Walks every selected queue, naming each one as the watchdog's phase.
    func readQueues(_ context: CheckContext, topN: Int) throws -> (PipelineLayout, [QueueDefinition], [QueueReading]) {
        context.phase("loading the pipeline layout")
        let layout = try common.layout()
        let queues = try common.selectedQueues(layout)
        let options = SnapshotOptions(ageSource: layout.ageSource, topN: topN, olderThan: [], threads: 2)
        var readings: [QueueReading] = []
        for queue in queues {
            context.phase("reading queue \(queue.name) (\(queue.incoming))")
            readings.append(QueueReading.take(queue, now: context.now, options: options))
        }
        return (layout, queues, readings)
    }

    /// What was processed within `window`: the union of the scan journal's records (this pipeline's)
    /// and the outcome trees' arrivals (``ProcessingHistory``).
    func readHistory(_ context: CheckContext, layout: PipelineLayout, queues: [QueueDefinition], window: Double, outcomes: [Outcome] = Outcome.allCases) -> ProcessingHistory {
        let options = SnapshotOptions(ageSource: layout.ageSource, topN: 0, olderThan: [], threads: 2)
        return ProcessingHistory.read(journal: ScanJournal(layout: layout), queues: queues, outcomes: outcomes, now: context.now,
                                      window: window, options: options, phase: context.phase)
    }
}

extension CheckMode {
    /// `--window`, when given (seconds, or with a suffix s, m, h, d).
    static func parseWindow(_ text: String?) throws(CheckError) -> Double? {
        try text.map { (text: String) throws(CheckError) -> Double in try DurationText.parse(text, option: "--window") }
    }
}

extension CheckVirusScan {
    struct Backlog: CheckMode {
        static let configuration = CommandConfiguration(
            abstract: "Files waiting in the selected queues together, tested against -w/-c.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var thresholds: ThresholdOptions
        @OptionGroup var listing: ListingOptions

        func check(_ context: CheckContext) throws -> CheckReport {
            let (layout, _, readings) = try readQueues(context, topN: listing.top)
            let ranges = try thresholds.thresholds(.plain, configured: layout.thresholds?.backlog)
            return BacklogCheck.evaluate(readings, thresholds: ranges, verbosity: context.verbosity, topN: listing.top)
        }
    }

    struct Age: CheckMode {
        static let configuration = CommandConfiguration(
            abstract: "Age in seconds of the oldest waiting file, tested against -w/-c (suffixes s, m, h, d).")
        @OptionGroup var common: CommonOptions
        @OptionGroup var thresholds: ThresholdOptions
        @OptionGroup var listing: ListingOptions

        func check(_ context: CheckContext) throws -> CheckReport {
            let (layout, _, readings) = try readQueues(context, topN: listing.top)
            let ranges = try thresholds.thresholds(.seconds, configured: layout.thresholds?.age)
            return AgeCheck.evaluate(readings, thresholds: ranges, verbosity: context.verbosity, topN: listing.top)
        }
    }

    struct Wait: CheckMode {
        static let configuration = CommandConfiguration(
            abstract: "A percentile of the wait of the files processed within --window, tested against -w/-c (seconds).")
        @OptionGroup var common: CommonOptions
        @OptionGroup var thresholds: ThresholdOptions
        @OptionGroup var listing: ListingOptions
        @Option(name: .long, help: ArgumentHelp("The percentile tested (0 < p <= 100; default: the layout file's thresholds.wait.percentile, else 90).", valueName: "p"))
        var percentile: Double?
        @Option(name: .long, help: ArgumentHelp("How far back processed files count (default: the layout file's thresholds.wait.window, else 10m).", valueName: "duration"))
        var window: String?

        func check(_ context: CheckContext) throws -> CheckReport {
            context.phase("loading the pipeline layout")
            let layout = try common.layout()
            let ranges = try thresholds.thresholds(.seconds, configured: layout.thresholds?.wait)
            let span = try Self.parseWindow(window) ?? layout.thresholds?.waitWindow ?? 600
            let percentile = self.percentile ?? layout.thresholds?.waitPercentile ?? 90
            guard percentile.isFinite, percentile > 0, percentile <= 100 else {
                throw CheckError(.invalidArgument, "--percentile: must be more than 0 and at most 100, got \(PerfDatum.format(percentile))")
            }
            let queues = try common.selectedQueues(layout)
            let history = readHistory(context, layout: layout, queues: queues, window: span)
            return WaitCheck.evaluate(history, window: span, percentile: percentile, thresholds: ranges, verbosity: context.verbosity, topN: listing.top)
        }
    }

    struct Stuck: CheckMode {
        static let configuration = CommandConfiguration(
            abstract: "CRITICAL when a file has waited longer than --window and nothing was processed within it.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var listing: ListingOptions
        @Option(name: .long, help: ArgumentHelp("How long a file may wait while nothing is processed (default: the layout file's thresholds.stuck.window, else 30m).", valueName: "duration"))
        var window: String?

        func check(_ context: CheckContext) throws -> CheckReport {
            let given = try Self.parseWindow(window)  // before the layout: a bad --window is the first error
            let (layout, queues, readings) = try readQueues(context, topN: listing.top)
            let span = given ?? layout.thresholds?.stuckWindow ?? 1800
            let history = readHistory(context, layout: layout, queues: queues, window: span)
            var report = StuckCheck.evaluate(readings, history: history, window: span, verbosity: context.verbosity, topN: listing.top)
            StuckCheck.evaluateWatchers(watchStates(layout, queues), now: context.now, into: &report)
            return report
        }
    }

    struct Infected: CheckMode {
        static let configuration = CommandConfiguration(
            abstract: "Files quarantined within --window, tested against -w/-c; listed in the long output.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var thresholds: ThresholdOptions
        @OptionGroup var listing: ListingOptions
        @Option(name: .long, help: ArgumentHelp("How far back quarantined files count (default: the layout file's thresholds.infected.window, else 24h).", valueName: "duration"))
        var window: String?
        @Option(name: .long, help: ArgumentHelp("WARNING when one signature quarantined at least COUNT distinct files in the window, CRITICAL at CRIT (default twice COUNT); the message names the signature and the ignore-signature command.", valueName: "count[:crit]"))
        var storm: String?

        func check(_ context: CheckContext) throws -> CheckReport {
            let given = try Self.parseWindow(window)  // before the layout: a bad --window is the first error
            let stormThresholds = try storm.map { text throws(CheckError) in try StormThresholds(parsing: text) }
            context.phase("loading the pipeline layout")
            let layout = try common.layout()
            let ranges = try thresholds.thresholds(.plain, configured: layout.thresholds?.infected)
            let span = given ?? layout.thresholds?.infectedWindow ?? 86400
            let queues = try common.selectedQueues(layout)
            let history = readHistory(context, layout: layout, queues: queues, window: span, outcomes: [.infected])
            return InfectedCheck.evaluate(history, window: span, thresholds: ranges, verbosity: context.verbosity, topN: listing.top, now: context.now,
                                          storm: stormThresholds, ignoreOptions: common.ignoreOptions)
        }
    }
}
