/// What the `rescan` mode saw: the state file and who holds the rescan lock.
public struct RescanObservation: Sendable {
    public var statePath: String
    public var state: RescanState?
    public var lockPath: String
    /// Holders of the lock; nil when the lock file does not exist.
    public var holders: [LockProbe.Holder]?
    /// What ``RescanStateValidation`` found wrong with the state file (empty: nothing).
    public var problems: [String]

    public init(statePath: String, state: RescanState?, lockPath: String, holders: [LockProbe.Holder]?, problems: [String] = []) {
        self.statePath = statePath
        self.state = state
        self.lockPath = lockPath
        self.holders = holders
        self.problems = problems
    }

    public var running: Bool { !(holders ?? []).isEmpty }
}

/// `rescan`: while the rescan lock is held, the age of the running pass is tested against -w/-c;
/// with no lock held, the time since the last completed pass is tested against the stale ranges.
public enum RescanCheck {
    public static func evaluate(
        _ observation: RescanObservation, now: Double, running thresholds: Thresholds, stale: Thresholds
    ) -> CheckReport {
        var report = CheckReport()
        let state = observation.state
        if !observation.problems.isEmpty {
            // Nothing in it can be believed: its counters and times may be as wrong as its checkpoint.
            report.results.append(CheckResult(.unknown, "rescan state file \(observation.statePath) is invalid: \(observation.problems.joined(separator: "; ")); rescan-clean refuses it (exit 5)"))
            return report
        }
        if observation.running {
            let pids = (observation.holders ?? []).map { String($0.pid) }.joined(separator: ", ")
            if let started = state?.started {
                let context = ScalarContext(thresholds)
                let metric = Metric("rescan_age", max(0, now - started), unit: .seconds, min: 0)
                report.results.append(
                    context.evaluate(metric) { metric in
                        var text = "rescan running for \(metric.humanValue) (pid \(pids))"
                        if let progress = state?.progress { text += ", \(percent(progress)) done" }
                        if let eta = state?.eta(now: now) { text += ", ETA \(DurationText.format(eta))" }
                        return text
                    })
                report.perfdata.append(context.performance(metric))
            } else {
                report.results.append(
                    CheckResult(
                        .unknown,
                        "rescan lock \(observation.lockPath) held by pid \(pids) but the state file \(observation.statePath) \(state == nil ? "is missing" : "has no start time")"
                    ))
            }
        } else {
            if let completed = state?.lastCompletedAt {
                let context = ScalarContext(stale)
                let metric = Metric("since_completed", max(0, now - completed), unit: .seconds, min: 0)
                report.results.append(
                    context.evaluate(metric) { "no rescan running; last pass completed \($0.humanValue) ago" })
                report.perfdata.append(context.performance(metric))
                if let state, let started = state.started, started > completed {
                    report.details.append("an unfinished pass started \(DurationText.format(now - started)) ago stopped at \(state.progress.map(percent) ?? "unknown progress")")
                }
            } else if let state {
                let progress = state.progress.map { " at \(percent($0))" } ?? ""
                report.results.append(CheckResult(.warning, "no rescan running and no pass has completed (the last one stopped\(progress))"))
            } else {
                report.results.append(
                    CheckResult(.warning, "no rescan running and none recorded: no state file at \(observation.statePath)"))
            }
        }
        if let state {
            if let progress = state.progress { report.perfdata.append(PerfDatum("rescan_progress", progress * 100, unit: .percent, min: 0, max: 100)) }
            report.perfdata += [
                PerfDatum("rescan_files", Double(state.filesDone), min: 0),
                PerfDatum("rescan_bytes", Double(state.bytesDone), unit: .bytes, min: 0),
                PerfDatum("rescan_errors", Double(state.errors), min: 0),
                PerfDatum("rescan_detections", Double(state.detections), min: 0),
            ]
            var line = "pass: \(state.filesDone)\(state.filesTotal.map { "/\($0)" } ?? "") files, \(ByteText.format(Double(state.bytesDone)))\(state.bytesTotal.map { "/" + ByteText.format(Double($0)) } ?? "")"
            if let version = state.databaseVersion { line += ", daily database \(version)" }
            line += ", \(state.errors) errors, \(state.detections) detections"
            report.details.append(line)
            if state.errors > 0 { report.details.append("scan errors are listed by rescan-clean in syslog (tag virus_scan)") }
        }
        if observation.holders == nil { report.details.append("lock file \(observation.lockPath) does not exist") }
        return report
    }

    static func percent(_ fraction: Double) -> String {
        "\(PerfDatum.format((fraction * 1000).rounded() / 10))%"
    }
}

extension CheckProbe {
    /// `rescan`: the state file (validated; `statePath` nil: the layout's) and who holds the rescan
    /// lock, judged by ``RescanCheck`` with `running` for the running pass's age and `stale` for
    /// the time since the last completed one. `unusedIsOK`: with no state file and no lock file, an
    /// OK "not in use here" (the status page) instead of judging a rescan that never ran.
    public static func rescan(running: Thresholds, stale: Thresholds, lockPath: String, statePath: String? = nil, unusedIsOK: Bool = false) -> CheckProbe {
        CheckProbe(mode: "rescan") { readings in
            let path = try statePath ?? readings.layout().rescanStatePath
            readings.phase("reading the rescan state file \(path)")
            let state = try RescanState.load(path: path)
            readings.phase("looking for the holder of \(lockPath)")
            let holders = try LockProbe.holders(of: lockPath)
            if unusedIsOK && state == nil && holders == nil {
                return CheckReport(results: [CheckResult(.ok, "rescan-clean not in use here (no state file at \(path))")])
            }
            var problems: [String] = []
            if state != nil, case .progress(let progress)? = try? RescanStateStore(path: path).load() {
                readings.phase("validating the rescan state file \(path)")
                let infected = Dictionary(((try? readings.layout().queues) ?? []).map { ($0.name, $0.infected) }, uniquingKeysWith: { a, _ in a })
                problems = RescanStateValidation.problems(progress) + RescanStateValidation.checkpointProblems(progress, infected: { infected[$0.queue] })
            }
            let observation = RescanObservation(statePath: path, state: state, lockPath: lockPath, holders: holders, problems: problems)
            return RescanCheck.evaluate(observation, now: readings.now, running: running, stale: stale)
        }
    }
}
