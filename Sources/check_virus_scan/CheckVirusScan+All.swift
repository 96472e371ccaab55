import ArgumentParser
import ScanCore

extension CheckVirusScan {
    struct All: CheckMode {
        static let configuration = CommandConfiguration(
            abstract: "Every mode that applies, thresholds per mode (--backlog-warning, --age-critical, …); worst state wins.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var clamd: ClamdOptions
        @OptionGroup var clamdConfig: ClamdConfigOptions
        @OptionGroup var listing: ListingOptions

        @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("backlog: warning range (files).", valueName: "range")) var backlogWarning: String?
        @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("backlog: critical range (files).", valueName: "range")) var backlogCritical: String?
        @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("age: warning range (seconds).", valueName: "range")) var ageWarning: String?
        @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("age: critical range (seconds).", valueName: "range")) var ageCritical: String?
        @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("wait: warning range (seconds).", valueName: "range")) var waitWarning: String?
        @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("wait: critical range (seconds).", valueName: "range")) var waitCritical: String?
        @Option(name: .long, help: ArgumentHelp("wait: the percentile tested (default: the layout file's thresholds.wait.percentile, else 90).", valueName: "p")) var percentile: Double?
        @Option(name: .long, help: ArgumentHelp("wait: how far back processed files count (default: thresholds.wait.window, else 10m).", valueName: "duration")) var waitWindow: String?
        @Option(name: .long, help: ArgumentHelp("stuck: how long a file may wait while nothing is processed (default: thresholds.stuck.window, else 30m).", valueName: "duration")) var stuckWindow: String?
        @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("infected: warning range (files).", valueName: "range")) var infectedWarning: String?
        @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("infected: critical range (files).", valueName: "range")) var infectedCritical: String?
        @Option(name: .long, help: ArgumentHelp("infected: how far back quarantined files count (default: thresholds.infected.window, else 24h).", valueName: "duration")) var infectedWindow: String?
        @Option(name: .long, help: ArgumentHelp("infected: WARNING when one signature quarantined at least COUNT distinct files in the window, CRITICAL at CRIT (default twice COUNT).", valueName: "count[:crit]")) var storm: String?
        @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("clamd: warning range for the queue length.", valueName: "range")) var clamdWarning: String?
        @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("clamd: critical range for the queue length.", valueName: "range")) var clamdCritical: String?
        @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("clamd: warning range for the longest-running scan (seconds).", valueName: "range")) var clamdScanWarning: String?
        @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("clamd: critical range for the longest-running scan (seconds).", valueName: "range")) var clamdScanCritical: String?
        @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("signatures: warning range for the daily database age (seconds).", valueName: "range")) var signaturesWarning: String?
        @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("signatures: critical range for the daily database age (seconds).", valueName: "range")) var signaturesCritical: String?
        @Option(name: .long, help: ArgumentHelp("signatures: CRITICAL when the databases on disk hold fewer signatures than this.", valueName: "n")) var minSignatures: Int = SignaturesCheck.defaultMinimumSignatures
        @Option(name: .long, help: ArgumentHelp("A mode to leave out; repeat for several (backlog, age, wait, stuck, infected, clamd, signatures, probe).", valueName: "mode")) var skip: [String] = []

        static let parts = ["backlog", "age", "wait", "stuck", "infected", "clamd", "signatures", "probe"]

        func check(_ context: CheckContext) throws -> CheckReport {
            for name in skip where !Self.parts.contains(name) {
                throw CheckError(.invalidArgument, "--skip: unknown mode '\(name)' (one of \(Self.parts.joined(separator: ", ")))")
            }
            func wanted(_ name: String) -> Bool { !skip.contains(name) }
            // A mode whose ranges, window or percentile are not given takes the layout file's
            // `thresholds:` (PipelineThresholds), as the mode run on its own does.
            let configured = (try? common.layout())?.thresholds
            func ranges(_ warning: String?, _ critical: String?, _ unit: ThresholdRange.Unit, _ option: String,
                        _ fallback: Thresholds?) throws(CheckError) -> Thresholds {
                if warning == nil && critical == nil, let fallback { return fallback }
                return try Thresholds(warning: warning, critical: critical, unit: unit, warningOption: "--\(option)-warning", criticalOption: "--\(option)-critical")
            }
            func span(_ text: String?, _ option: String, _ fallback: Double?, _ standard: Double) throws(CheckError) -> Double {
                guard let text else { return fallback ?? standard }
                return try DurationText.parse(text, option: option)
            }
            let backlog = try ranges(backlogWarning, backlogCritical, .plain, "backlog", configured?.backlog)
            let age = try ranges(ageWarning, ageCritical, .seconds, "age", configured?.age)
            let wait = try ranges(waitWarning, waitCritical, .seconds, "wait", configured?.wait)
            let infected = try ranges(infectedWarning, infectedCritical, .plain, "infected", configured?.infected)
            let clamdRanges = try ranges(clamdWarning, clamdCritical, .plain, "clamd", configured?.clamd)
            let clamdScan = try ranges(clamdScanWarning, clamdScanCritical, .seconds, "clamd-scan", configured?.clamdScan)
            let signatures = try ranges(signaturesWarning, signaturesCritical, .seconds, "signatures", configured?.signatures)
            let waitSpan = try span(waitWindow, "--wait-window", configured?.waitWindow, 600)
            let stuckSpan = try span(stuckWindow, "--stuck-window", configured?.stuckWindow, 1800)
            let infectedSpan = try span(infectedWindow, "--infected-window", configured?.infectedWindow, 86400)
            let percentile = self.percentile ?? configured?.waitPercentile ?? 90
            let stormThresholds = try storm.map { text throws(CheckError) in try StormThresholds(parsing: text) }
            guard minSignatures >= 0 else { throw CheckError(.invalidArgument, "--min-signatures: must be 0 or more, got \(minSignatures)") }
            guard percentile > 0, percentile <= 100 else {
                throw CheckError(.invalidArgument, "--percentile: must be more than 0 and at most 100, got \(PerfDatum.format(percentile))")
            }

            var parts: [(mode: String, report: CheckReport)] = []
            let (layout, queues, readings) = try readQueues(context, topN: listing.top)
            if wanted("backlog") { parts.append(("backlog", BacklogCheck.evaluate(readings, thresholds: backlog, topN: 0))) }
            if wanted("age") { parts.append(("age", AgeCheck.evaluate(readings, thresholds: age, topN: 0))) }
            let historyWindow = [wanted("wait") ? waitSpan : 0, wanted("stuck") ? stuckSpan : 0, wanted("infected") ? infectedSpan : 0].max() ?? 0
            if historyWindow > 0 {
                let history = readHistory(context, layout: layout, queues: queues, window: historyWindow)
                func within(_ span: Double, _ outcomes: Set<Outcome> = Set(Outcome.allCases)) -> ProcessingHistory {
                    history.within(since: context.now - span, outcomes: outcomes)
                }
                if wanted("wait") { parts.append(("wait", WaitCheck.evaluate(within(waitSpan), window: waitSpan, percentile: percentile, thresholds: wait, topN: 0))) }
                if wanted("stuck") {
                    var stuck = StuckCheck.evaluate(readings, history: within(stuckSpan), window: stuckSpan, topN: 0)
                    StuckCheck.evaluateWatchers(watchStates(layout, queues), now: context.now, into: &stuck)
                    parts.append(("stuck", stuck))
                }
                if wanted("infected") { parts.append(("infected", InfectedCheck.evaluate(within(infectedSpan, [.infected]), window: infectedSpan, thresholds: infected, topN: 0, now: context.now,
                                                                                 storm: stormThresholds, ignoreOptions: common.ignoreOptions))) }
            }
            if wanted("clamd") || wanted("signatures") || wanted("probe") {
                let (pool, clients, minUp) = try clamd.pool(common)
                if pool.count > 1 {
                    let names = pool.endpoints.map(\.description)
                    let labels = pool.labels
                    if wanted("clamd") {
                        context.phase("asking \(pool.count) clamd for PING, VERSION and STATS")
                        let observations = askAll(clients) { ClamdObservation.take($0) }
                        parts.append(("clamd", ClamdPoolCheck.evaluate(observations, labels: labels, minUp: minUp, thresholds: clamdRanges, scanThresholds: clamdScan,
                                                                       configuration: clamdConfig.reading())))
                    }
                    if wanted("signatures") {
                        context.phase("reading the signature database headers in \(common.databaseDir)")
                        let inventory = Result { () throws(SignatureDatabaseError) in try SignatureDatabaseInventory.read(directory: common.databaseDir) }
                        context.phase("asking \(pool.count) clamd for VERSION")
                        let versions = askAll(clients) { client in Result { () throws(ClamdError) in try client.version() } }
                        let observation = SignaturesObservation(directory: common.databaseDir, inventory: inventory)
                        let loaded = (0..<pool.count).map { (endpoint: names[$0], label: labels[$0], version: versions[$0]) }
                        parts.append(("signatures", SignaturesCheck.evaluatePool(observation, loaded: loaded, minUp: minUp, now: context.now, thresholds: signatures,
                                                                                 maxBehind: 2, minSignatures: minSignatures)))
                    }
                    if wanted("probe") {
                        context.phase("scanning the EICAR test string through \(pool.count) clamd")
                        let outcomes = askAll(clients) { client in measure { () throws(ClamdError) in try client.scanInstream(bytes: ProbeSample.eicar) } }
                        parts.append(("probe", ProbePoolCheck.evaluate((0..<pool.count).map { (names[$0], labels[$0], outcomes[$0]) }, minUp: minUp)))
                    }
                    return AllCheck.combine(parts)
                }
                let client = clients[0]
                let name = client.endpoint.description
                if wanted("clamd") {
                    let observation = ClamdObservation.take(client, configuration: clamdConfig.reading(), phase: context.phase)
                    parts.append(("clamd", ClamdCheck.evaluate(observation, thresholds: clamdRanges, scanThresholds: clamdScan)))
                }
                if wanted("signatures") {
                    context.phase("reading the signature database headers in \(common.databaseDir)")
                    let inventory = Result { () throws(SignatureDatabaseError) in try SignatureDatabaseInventory.read(directory: common.databaseDir) }
                    context.phase("asking clamd \(name) for VERSION")
                    let loaded = Result { () throws(ClamdError) in try client.version() }
                    let observation = SignaturesObservation(directory: common.databaseDir, inventory: inventory, loaded: loaded)
                    parts.append(("signatures", SignaturesCheck.evaluate(observation, now: context.now, thresholds: signatures, maxBehind: 2, minSignatures: minSignatures)))
                }
                if wanted("probe") {
                    context.phase("scanning the EICAR test string through clamd \(name)")
                    let outcome = measure { () throws(ClamdError) in try client.scanInstream(bytes: ProbeSample.eicar) }
                    parts.append(("probe", ProbeCheck.evaluate(endpoint: name, outcome: outcome)))
                }
            }
            return AllCheck.combine(parts)
        }
    }
}
