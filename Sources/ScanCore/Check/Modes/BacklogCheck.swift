/// `backlog`: the number of files waiting in the selected queues together, tested against -w/-c.
/// Perfdata: the totals (`backlog`, `backlog_size`, `oldest_age`) and, per queue, files, bytes and
/// oldest age (`incoming_files`, `incoming_bytes`, `incoming_oldest_age`).
public enum BacklogCheck {
    public static func evaluate(_ readings: [QueueReading], thresholds: Thresholds, verbosity: Int = 0, topN: Int = 10) -> CheckReport {
        let snapshots = readings.compactMap { try? $0.snapshot.get() }
        let files = snapshots.reduce(0) { $0 + $1.files }
        let bytes = snapshots.reduce(Int64(0)) { $0 + $1.bytes }
        let oldest = snapshots.compactMap(\.oldestAge).max() ?? 0
        let context = ScalarContext(thresholds)
        let metric = Metric("backlog", Double(files), min: 0)
        var report = CheckReport()
        if !snapshots.isEmpty {
            report.results.append(context.evaluate(metric) { _ in "\(QueueFindings.files(files)) queued" })
            if files > 0 { report.results.append(CheckResult(.ok, "oldest \(DurationText.format(oldest))")) }
            report.perfdata += [
                context.performance(metric),
                PerfDatum("backlog_size", Double(bytes), unit: .bytes, min: 0),
                PerfDatum("oldest_age", oldest, unit: .seconds, min: 0),
            ]
        }
        report.results += QueueFindings.problems(readings)
        report.perfdata += perQueuePerfdata(snapshots)
        report.details = readings.flatMap { QueueFindings.details($0, verbosity: verbosity, topN: topN) }
        return report
    }

    /// Files, bytes and oldest age of each queue, labelled with the queue's name.
    static func perQueuePerfdata(_ snapshots: [QueueSnapshot]) -> [PerfDatum] {
        snapshots.flatMap { snapshot in
            [
                PerfDatum("\(snapshot.queue)_files", Double(snapshot.files), min: 0),
                PerfDatum("\(snapshot.queue)_bytes", Double(snapshot.bytes), unit: .bytes, min: 0),
                PerfDatum("\(snapshot.queue)_oldest_age", snapshot.oldestAge ?? 0, unit: .seconds, min: 0),
            ]
        }
    }
}

/// `age`: the age in seconds of the oldest waiting file of the selected queues, tested against -w/-c.
public enum AgeCheck {
    public static func evaluate(_ readings: [QueueReading], thresholds: Thresholds, verbosity: Int = 0, topN: Int = 10) -> CheckReport {
        let snapshots = readings.compactMap { try? $0.snapshot.get() }
        let files = snapshots.reduce(0) { $0 + $1.files }
        let oldestSnapshot = snapshots.filter { $0.oldestAge != nil }.max { $0.oldestAge! < $1.oldestAge! }
        let oldest = oldestSnapshot?.oldestAge ?? 0
        let context = ScalarContext(thresholds)
        let metric = Metric("oldest_age", oldest, unit: .seconds, min: 0)
        var report = CheckReport()
        if !snapshots.isEmpty {
            report.results.append(
                context.evaluate(metric) { metric in
                    guard let oldestSnapshot else { return "no files waiting" }
                    let location = oldestSnapshot.oldest.first.map { ": \(oldestSnapshot.queue)/\($0.displayPath)" }
                        ?? " in \(oldestSnapshot.queue)"
                    return "oldest waiting file \(metric.humanValue) old\(location)"
                })
            if files > 0 { report.results.append(CheckResult(.ok, "\(QueueFindings.files(files)) queued")) }
            report.perfdata += [context.performance(metric), PerfDatum("backlog", Double(files), min: 0)]
        }
        report.results += QueueFindings.problems(readings)
        report.perfdata += BacklogCheck.perQueuePerfdata(snapshots)
        report.details = readings.flatMap { QueueFindings.details($0, verbosity: verbosity, topN: topN) }
        return report
    }
}

extension CheckProbe {
    /// `backlog`: the selected queues walked, judged by ``BacklogCheck``; `topN` of the oldest
    /// files listed.
    public static func backlog(thresholds: Thresholds, topN: Int) -> CheckProbe {
        CheckProbe(mode: "backlog") { readings in
            BacklogCheck.evaluate(try readings.queueReadings(), thresholds: thresholds, verbosity: readings.verbosity, topN: topN)
        }
    }

    /// `age`: the selected queues walked, judged by ``AgeCheck``.
    public static func age(thresholds: Thresholds, topN: Int) -> CheckProbe {
        CheckProbe(mode: "age") { readings in
            AgeCheck.evaluate(try readings.queueReadings(), thresholds: thresholds, verbosity: readings.verbosity, topN: topN)
        }
    }
}
