/// `wait`: the `percentile` (default 90) of the waiting time of the files processed within the
/// window, tested against -w/-c (seconds). This replaces the statsd timer and its Graphite p90 check.
public enum WaitCheck {
    public static func evaluate(
        _ history: ProcessingHistory, window: Double, percentile: Double, thresholds: Thresholds, verbosity: Int = 0,
        topN: Int = 10
    ) -> CheckReport {
        var report = CheckReport()
        let label = "wait_p\(PerfDatum.format(percentile))".replacingDots()
        let records = history.records.filter { !$0.fromRescan && $0.outcome != nil }
        let windowText = DurationText.format(window)
        if records.isEmpty {
            report.results.append(CheckResult(.ok, "no files processed in the last \(windowText) (\(history.sourceText))"))
            report.perfdata.append(PerfDatum("processed", 0, min: 0))
        } else {
            let waits = records.map(\.wait).sorted()
            let value = AgePercentiles.nearestRank(percentile, of: waits)
            let context = ScalarContext(thresholds)
            let metric = Metric(label, value, unit: .seconds, min: 0)
            report.results.append(
                context.evaluate(metric) {
                    "p\(PerfDatum.format(percentile)) wait \($0.humanValue) over \(QueueFindings.files(records.count)) processed in the last \(windowText)"
                })
            report.perfdata += [
                context.performance(metric),
                PerfDatum("wait_max", waits[waits.count - 1], unit: .seconds, min: 0),
                PerfDatum("processed", Double(records.count), min: 0),
            ]
            report.details.append("waits: median \(DurationText.format(AgePercentiles.nearestRank(50, of: waits))), max \(DurationText.format(waits[waits.count - 1])); read from the \(history.sourceText)")
            report.details += history.sourceLines(counted: records)
            let longest = records.sorted { $0.wait > $1.wait }.prefix(topN)
            for record in longest {
                report.details.append("  waited \(DurationText.format(record.wait)): \(record.queue)/\(record.displayPath) (\(record.verdict); \(record.origin.rawValue))")
            }
        }
        report.results += history.problems
        return report
    }
}

extension String {
    /// `wait_p99.9` → `wait_p99_9` (labels stay [a-z0-9_]).
    func replacingDots() -> String { String(map { $0 == "." ? "_" : $0 }) }
}

/// `stuck`: CRITICAL for a queue whose oldest file has waited longer than the window while nothing
/// was processed within it (the scanner is not running). OK when the backlog is empty, or while
/// files are still being processed.
public enum StuckCheck {
    public static func evaluate(
        _ readings: [QueueReading], history: ProcessingHistory, window: Double, verbosity: Int = 0, topN: Int = 5
    ) -> CheckReport {
        var report = CheckReport()
        let windowText = DurationText.format(window)
        for reading in readings {
            guard case .success(let snapshot) = reading.snapshot else { continue }
            let name = snapshot.queue
            let processed = history.records.filter { $0.queue == name && !$0.fromRescan && $0.outcome != nil }
            let oldest = snapshot.oldestAge ?? 0
            let state: ServiceState
            let text: String
            if snapshot.files == 0 {
                state = .ok
                text = "\(name): empty"
            } else if oldest > window && processed.isEmpty {
                state = .critical
                text = "\(name) stuck: oldest file waiting \(DurationText.format(oldest)) and nothing processed in the last \(windowText)"
            } else if processed.isEmpty {
                state = .ok
                text = "\(name): \(QueueFindings.files(snapshot.files)) waiting, oldest \(DurationText.format(oldest))"
            } else {
                state = .ok
                text = "\(name): moving, \(processed.count) processed in the last \(windowText)"
            }
            report.results.append(CheckResult(state, text))
            report.perfdata += [
                PerfDatum("\(name)_oldest_age", oldest, unit: .seconds, min: 0),
                PerfDatum("\(name)_processed", Double(processed.count), min: 0),
            ]
            if let last = processed.last {
                report.details.append("[\(state)] \(name): \(QueueFindings.files(snapshot.files)) waiting; last processed \(DurationText.format(snapshot.now - last.processed)) ago: \(last.displayPath) (\(last.origin.rawValue))")
            } else {
                report.details.append("[\(state)] \(name): \(QueueFindings.files(snapshot.files)) waiting; nothing processed in the last \(windowText) (\(history.sourceText))")
            }
            for file in snapshot.oldest.prefix(state == .critical ? topN : 0) {
                report.details.append("  \(DurationText.format(file.age)) \(file.displayPath)")
            }
        }
        report.details += history.sourceLines(counted: history.records.filter { !$0.fromRescan && $0.outcome != nil })
        report.results += QueueFindings.problems(readings)
        report.results += history.problems
        return report
    }

    /// The `drain --watch` heartbeats of the queues (nil: no state file, no watcher): CRITICAL when
    /// a running watcher's heartbeat is stale (it died or hangs without having stopped cleanly).
    public static func evaluateWatchers(_ watchers: [(queue: String, state: Result<WatchState?, PipelineError>)],
                                        now: Double, into report: inout CheckReport) {
        for (queue, result) in watchers {
            switch result {
            case .failure(let error):
                report.results.append(CheckResult(.unknown, "\(queue) watcher: \(error.message)"))
            case .success(nil):
                continue
            case .success(let state?):
                let age = max(0, now - state.heartbeat)
                if !state.running {
                    report.details.append("[OK] \(queue): drain --watch stopped cleanly \(DurationText.format(age)) ago")
                    continue
                }
                report.perfdata.append(PerfDatum("\(queue)_watch_heartbeat_age", age, unit: .seconds, min: 0))
                if state.alive(now: now) {
                    let event = state.lastEvent.map { "last event \(DurationText.format(max(0, now - $0))) ago" } ?? "no event yet"
                    report.details.append("[OK] \(queue): drain --watch alive (pid \(state.pid), \(event), \(state.overflows) overflows, \(state.sweepFoundFiles) files found by sweeps)")
                } else {
                    report.results.append(CheckResult(.critical, "\(queue) watcher silent: drain --watch (pid \(state.pid)) wrote no heartbeat for \(DurationText.format(age)) (stale after \(DurationText.format(state.staleAfter))): dead or hung without stopping"))
                }
            }
        }
    }
}

/// `infected`: the number of files quarantined within the window, tested against -w/-c; they are
/// listed in the long output (at most `topN`).
public enum InfectedCheck {
    /// - Parameters:
    ///   - storm: `--storm`: a result per signature that quarantined at least its COUNT files.
    ///   - ignoreOptions: what the advised `ignore-signature` command adds (`--database-dir DIR`, `--socket PATH`).
    public static func evaluate(
        _ history: ProcessingHistory, window: Double, thresholds: Thresholds, verbosity: Int = 0, topN: Int = 20, now: Double,
        storm: StormThresholds? = nil, ignoreOptions: [String] = []
    ) -> CheckReport {
        var report = CheckReport()
        let infected = history.records.filter { $0.outcome == .infected }
        let context = ScalarContext(thresholds)
        let metric = Metric("infected", Double(infected.count), min: 0)
        let windowText = DurationText.format(window)
        report.results.append(
            context.evaluate(metric) { _ in
                "\(infected.count) \(infected.count == 1 ? "file" : "files") quarantined in the last \(windowText)"
            })
        report.perfdata.append(context.performance(metric))
        let groups = SignatureStorm.group(infected)
        let known = groups.filter { $0.signature != SignatureStorm.unknownBucket }
        var stormLines: [String] = []
        if let storm {
            for group in known where group.files >= storm.warning {
                let state: ServiceState = group.files >= storm.critical ? .critical : .warning
                let command = StormBreaker.ignoreCommand(signature: group.signature, options: ignoreOptions)
                report.results.append(CheckResult(state, "signature storm: \(group.signature) quarantined \(group.files) files in the last \(windowText) (--storm \(storm.text)); if it is a false positive: \(command)"))
                stormLines.append("signature storm \(group.signature) (\(group.files) files): if it is a false positive, run: \(command)")
            }
            report.perfdata.append(PerfDatum("signature_max", Double(known.first?.files ?? 0), thresholds: storm.perfThresholds, min: 0))
        }
        report.details += stormLines
        for record in infected.reversed().prefix(topN) {
            let signature = record.signature.map { " \($0)" } ?? ""
            let rescan = record.fromRescan ? ", rescan" : ""
            report.details.append("  \(DurationText.format(now - record.processed)) ago \(record.queue)/\(record.displayPath) (\(ByteText.format(Double(record.size))))\(signature) [\(record.origin.rawValue)\(rescan)]")
        }
        if infected.count > topN { report.details.append("  (\(infected.count - topN) more not listed)") }
        if !groups.isEmpty && topN > 0 {
            report.details.append("detections by signature (distinct files quarantined in the last \(windowText)):")
            for group in groups.filter({ $0.signature != SignatureStorm.unknownBucket }).prefix(topN) {
                report.details.append("  \(group.files) \(group.signature)")
            }
            if known.count > topN { report.details.append("  (\(known.count - topN) more signatures not listed)") }
            if let unknown = groups.last, unknown.signature == SignatureStorm.unknownBucket {
                report.details.append("  \(unknown.files) \(SignatureStorm.unknownBucket): found in the infected tree only, signature not known")
            }
        }
        report.details += history.sourceLines(counted: infected)
        report.results += history.problems
        return report
    }
}

extension ProcessingHistory {
    /// Results for the parts that could not be read: UNKNOWN (the plugin could not look) unless the
    /// tree is missing, which is the pipeline's failure (CRITICAL).
    var problems: [CheckResult] {
        failures.map { CheckResult(QueueFindings.state(for: $0.error), "\($0.what): \($0.error.message)") }
    }
}

extension CheckProbe {
    /// `wait`: what was processed within `window`, judged by ``WaitCheck``.
    public static func wait(window: Double, percentile: Double, thresholds: Thresholds, topN: Int) -> CheckProbe {
        CheckProbe(mode: "wait", historyWindow: window) { readings in
            WaitCheck.evaluate(try readings.history(window: window), window: window, percentile: percentile, thresholds: thresholds,
                               verbosity: readings.verbosity, topN: topN)
        }
    }

    /// `stuck`: the queues walked, what was processed within `window`, and the watchers'
    /// heartbeats, judged by ``StuckCheck``.
    public static func stuck(window: Double, topN: Int) -> CheckProbe {
        CheckProbe(mode: "stuck", historyWindow: window) { readings in
            let queues = try readings.queueReadings()
            var report = StuckCheck.evaluate(queues, history: try readings.history(window: window), window: window, verbosity: readings.verbosity, topN: topN)
            StuckCheck.evaluateWatchers(try readings.watchStates(), now: readings.now, into: &report)
            return report
        }
    }

    /// `infected`: the files quarantined within `window`, judged by ``InfectedCheck``;
    /// `ignoreOptions` is what the advised `ignore-signature` command adds.
    public static func infected(window: Double, thresholds: Thresholds, topN: Int, storm: StormThresholds? = nil, ignoreOptions: [String] = []) -> CheckProbe {
        CheckProbe(mode: "infected", historyWindow: window) { readings in
            InfectedCheck.evaluate(try readings.history(window: window, outcomes: [.infected]), window: window, thresholds: thresholds,
                                   verbosity: readings.verbosity, topN: topN, now: readings.now, storm: storm, ignoreOptions: ignoreOptions)
        }
    }
}
