/// What the `clamd` mode saw: PING (round trip or the error), then VERSION and STATS.
public struct ClamdObservation: Sendable {
    public var endpoint: String
    public var ping: Result<Double, ClamdError>
    public var version: Result<ClamdVersion, ClamdError>?
    public var stats: Result<ClamdStats, ClamdError>?
    /// clamd.conf, for its size limits and AlertExceedsMax.
    public var configuration: ClamdConfigurationReading

    public init(endpoint: String, ping: Result<Double, ClamdError>, version: Result<ClamdVersion, ClamdError>? = nil, stats: Result<ClamdStats, ClamdError>? = nil,
                configuration: ClamdConfigurationReading = .notRead) {
        self.endpoint = endpoint
        self.ping = ping
        self.version = version
        self.stats = stats
        self.configuration = configuration
    }
}

extension ClamdObservation {
    /// What the `clamd` mode asks one daemon: PING (timed), then VERSION and STATS when it
    /// answered. `phase` names each step (the watchdog's timeout message). The check's modes, `all`
    /// and the status page all observe a daemon this way.
    public static func take(_ client: ClamdClient, configuration: ClamdConfigurationReading = .notRead,
                            phase: (String) -> Void = { _ in }) -> ClamdObservation {
        let name = client.endpoint.description
        phase("waiting for clamd \(name) to answer PING")
        let started = MonotonicClock.now()
        let ping: Result<Double, ClamdError>
        do throws(ClamdError) {
            _ = try client.ping()
            ping = .success(MonotonicClock.now() - started)
        } catch {
            ping = .failure(error)
        }
        var observation = ClamdObservation(endpoint: name, ping: ping, configuration: configuration)
        if case .success = ping {
            phase("asking clamd \(name) for VERSION")
            observation.version = Result { () throws(ClamdError) in try client.version() }
            phase("asking clamd \(name) for STATS")
            observation.stats = Result { () throws(ClamdError) in try client.stats() }
        }
        return observation
    }
}

/// Failures talking to clamd are the service's (CRITICAL), except a bad endpoint or a socket the
/// plugin may not open (UNKNOWN).
enum ClamdFindings {
    static func state(for error: ClamdError) -> ServiceState {
        switch error.code {
        case .invalidEndpoint, .permissionDenied, .unsupported: .unknown
        default: .critical
        }
    }
}

/// `clamd`: CRITICAL unless clamd answers PING with PONG in time; its queue length (STATS) is tested
/// against -w/-c, and the longest-running scan in flight (STATS' task lines) against `scanThresholds`
/// (seconds; a hung thread). Perfdata: ping time, queue, threads live/idle/max, memory, the longest
/// scan and the number of tasks in flight.
///
/// A command the operator disabled (ClamAV 1.5's `EnableStatsCommand no`, `EnableVersionCommand no`,
/// answered `COMMAND UNAVAILABLE`) is not a failure: clamd is up, and the output says what is not
/// known. WARNING when clamd.conf has AlertExceedsMax no (files over its size limits pass as clean).
public enum ClamdCheck {
    public static func evaluate(_ observation: ClamdObservation, thresholds: Thresholds, scanThresholds: Thresholds = .none) -> CheckReport {
        var report = CheckReport()
        let seconds: Double
        switch observation.ping {
        case .failure(let error):
            report.results.append(CheckResult(ClamdFindings.state(for: error), error.message))
            return report
        case .success(let value):
            seconds = value
        }
        var text = "clamd PONG in \(milliseconds(seconds))"
        switch observation.version {
        case .success(let version)?:
            text += ", ClamAV \(version.engineVersion)"
            if let daily = version.databaseVersion { text += "/\(daily)" }
            if let count = version.signatureCount { report.details.append("clamd has \(count) signatures loaded") }
        case .failure(let error)? where error.code == .commandDisabled:
            text += ", VERSION disabled"
            report.details.append("VERSION is disabled in clamd (EnableVersionCommand no): the engine and loaded database are not known")
        case .failure(let error)?:
            report.details.append("clamd VERSION failed: \(error.message)")
        case nil:
            break
        }
        report.perfdata.append(PerfDatum("clamd_time", seconds, unit: .seconds, min: 0))
        switch observation.stats {
        case .success(let stats)?:
            let context = ScalarContext(thresholds)
            let queue = Metric("clamd_queue", Double(stats.queueItems ?? 0), min: 0)
            report.results.append(context.evaluate(queue) { _ in text + ", queue \(stats.queueItems ?? 0)" })
            report.perfdata.append(context.performance(queue))
            if let live = stats.threadsLive { report.perfdata.append(PerfDatum("clamd_threads_live", Double(live), min: 0, max: stats.threadsMax.map(Double.init))) }
            if let idle = stats.threadsIdle { report.perfdata.append(PerfDatum("clamd_threads_idle", Double(idle), min: 0, max: stats.threadsMax.map(Double.init))) }
            if let max = stats.threadsMax { report.perfdata.append(PerfDatum("clamd_threads_max", Double(max), min: 0)) }
            if let heap = stats.memory.heap { report.perfdata.append(PerfDatum("clamd_memory_heap", heap.rounded(), unit: .bytes, min: 0)) }
            if let pools = stats.memory.poolsUsed { report.perfdata.append(PerfDatum("clamd_memory_pools", pools.rounded(), unit: .bytes, min: 0)) }
            let inFlight = stats.inFlight
            let scanContext = ScalarContext(scanThresholds)
            let longest = Metric("longest_scan", inFlight.first?.seconds ?? 0, unit: .seconds, min: 0)
            report.perfdata.append(scanContext.performance(longest))
            report.perfdata.append(PerfDatum("active_tasks", Double(inFlight.count), min: 0, max: stats.threadsMax.map(Double.init)))
            if let task = inFlight.first {
                let others = inFlight.count > 1 ? " (\(inFlight.count) scans in flight)" : ""
                report.results.append(scanContext.evaluate(longest) { "longest scan \(task.command) \(task.file ?? "(no file)") running \($0.humanValue)\(others)" })
            }
            var line = "[\(thresholds.state(for: Double(stats.queueItems ?? 0)))] clamd \(observation.endpoint): state \(stats.state ?? "?"), threads live \(stats.threadsLive.map(String.init) ?? "?") idle \(stats.threadsIdle.map(String.init) ?? "?") max \(stats.threadsMax.map(String.init) ?? "?"), queue \(stats.queueItems ?? 0)"
            if let heap = stats.memory.heap { line += ", heap \(ByteText.format(heap))" }
            report.details.append(line)
            for job in stats.jobs.prefix(10) {
                report.details.append("  queued: \(job.command)\(job.seconds.map { " for \(PerfDatum.format($0))s" } ?? "")")
            }
            for task in inFlight.prefix(10) {
                report.details.append("  in flight: \(task.command) \(task.file ?? "(no file)") for \(PerfDatum.format(task.seconds ?? 0))s")
            }
        case .failure(let error)? where error.code == .commandDisabled:
            report.results.append(CheckResult(.ok, text + ", STATS disabled"))
            report.details.append("STATS is disabled in clamd (EnableStatsCommand no): queue, threads and memory are not known; -w/-c not tested")
        case .failure(let error)?:
            report.results.append(CheckResult(.ok, text))
            report.results.append(CheckResult(.unknown, "clamd STATS failed: \(error.message)"))
        case nil:
            report.results.append(CheckResult(.ok, text))
        }
        configurationFindings(observation.configuration, into: &report)
        if case .success(let version)? = observation.version, let built = version.databaseBuildTimeText {
            report.details.append("loaded daily database \(version.databaseVersion.map(String.init) ?? "?") built \(built)")
        }
        return report
    }

    /// What clamd.conf says (its size limits; WARNING on AlertExceedsMax no), added to `report`.
    /// Read once per host: a pool check adds it once, not per daemon.
    static func configurationFindings(_ configuration: ClamdConfigurationReading, into report: inout CheckReport) {
        switch configuration {
        case .read(let path, let configuration):
            let limits = "MaxFileSize \(ClamdConfiguration.sizeText(configuration.maxFileSize)), MaxScanSize \(ClamdConfiguration.sizeText(configuration.maxScanSize)), StreamMaxLength \(ClamdConfiguration.sizeText(configuration.streamMaxLength))"
            if configuration.alertExceedsMax {
                report.details.append("\(path): \(limits), AlertExceedsMax yes")
            } else {
                report.results.append(CheckResult(.warning, "\(path) has AlertExceedsMax no: clamd answers OK for files over MaxFileSize \(ClamdConfiguration.sizeText(configuration.maxFileSize)) / MaxScanSize \(ClamdConfiguration.sizeText(configuration.maxScanSize)) without scanning them (set AlertExceedsMax yes)"))
                report.details.append("\(path): \(limits), AlertExceedsMax no")
            }
        case .absent(let path):
            report.details.append("no clamd configuration at \(path): AlertExceedsMax not checked (give --clamd-config)")
        case .failed(_, let message):
            report.results.append(CheckResult(.unknown, message))
        case .notRead:
            break
        }
    }

    static func milliseconds(_ seconds: Double) -> String {
        "\(PerfDatum.format((seconds * 1000).rounded()))ms"
    }
}

/// `probe`: scans the EICAR test string through clamd; CRITICAL unless clamd reports it FOUND.
public enum ProbeCheck {
    public static func evaluate(endpoint: String, outcome: Result<(ScanVerdict, Double), ClamdError>) -> CheckReport {
        var report = CheckReport()
        switch outcome {
        case .failure(let error):
            report.results.append(CheckResult(ClamdFindings.state(for: error), "probe: \(error.message)"))
        case .success(let (verdict, seconds)):
            report.perfdata.append(PerfDatum("probe_time", seconds, unit: .seconds, min: 0))
            switch verdict {
            case .infected(let signature):
                report.results.append(CheckResult(.ok, "clamd found the EICAR test string (\(signature)) in \(ClamdCheck.milliseconds(seconds))"))
            case .clean:
                report.results.append(CheckResult(.critical, "clamd did not detect the EICAR test string: its signature database is empty or broken"))
            case .error(let message):
                report.results.append(CheckResult(.critical, "clamd could not scan the EICAR test string: \(message)"))
            }
        }
        return report
    }
}

/// The EICAR anti-virus test string, built in memory (XOR-masked here so no scanner flags the
/// binary or the source; never written to disk).
public enum ProbeSample {
    private static let masked: [UInt8] = [
        0xFD, 0x99, 0xFC, 0x9B, 0x91, 0xED, 0x8F, 0x97, 0x8D, 0xBF, 0xDF, 0xAE, 0xA9, 0x5A, 0x5F, 0x3B,
        0x21, 0x34, 0x73, 0x74, 0x18, 0x0F, 0x7C, 0x05, 0x64, 0x63, 0x26, 0x46, 0x2C, 0x39, 0x34, 0x3F,
        0xD7, 0xA1, 0xC0, 0xCE, 0xE0, 0xE6, 0xEB, 0xF7, 0xEF, 0x80, 0xE6, 0x93, 0x97, 0xB4, 0xAE, 0xB8,
        0xBC, 0xAE, 0x56, 0x59, 0x3C, 0x4C, 0x5A, 0x75, 0x79, 0x19, 0x7D, 0x0B, 0x05, 0x15, 0x76, 0x7A,
        0x2D, 0x47, 0x3B, 0x50,
    ]

    /// The 68 bytes of the EICAR test file.
    public static var eicar: [UInt8] {
        masked.enumerated().map { index, byte in byte ^ (0xA5 &+ UInt8(truncatingIfNeeded: 7 &* index)) }
    }
}

/// What the `signatures` mode saw.
public struct SignaturesObservation: Sendable {
    public var directory: String
    public var inventory: Result<SignatureDatabaseInventory, SignatureDatabaseError>
    /// clamd's VERSION when it answered (nil when not asked).
    public var loaded: Result<ClamdVersion, ClamdError>?
    /// The TXT lookup of current.cvd.clamav.net (nil without --upstream).
    public var upstream: Result<ClamAVPublishedVersions, DNSError>?

    public init(directory: String, inventory: Result<SignatureDatabaseInventory, SignatureDatabaseError>, loaded: Result<ClamdVersion, ClamdError>? = nil, upstream: Result<ClamAVPublishedVersions, DNSError>? = nil) {
        self.directory = directory
        self.inventory = inventory
        self.loaded = loaded
        self.upstream = upstream
    }
}

/// `signatures`: the daily database's age (from its header's build time) against -w/-c; CRITICAL
/// when the databases on disk hold fewer than `minSignatures` signatures (a broken update leaves
/// none) and when clamd has an older daily loaded than the one on disk; with the upstream record,
/// WARNING when the disk's daily is more than `maxBehind` versions behind what ClamAV publishes,
/// and UNKNOWN when the record cannot tell: it carries no time, or its time is more than
/// `maxRecordAge` old (freshclam warns past 12 h) or in the future.
public enum SignaturesCheck {
    /// The default of `--min-signatures`: any database that detects something passes; an update
    /// that left "Known viruses: 0" does not.
    public static let defaultMinimumSignatures = 1

    public static func evaluate(_ observation: SignaturesObservation, now: Double, thresholds: Thresholds, maxBehind: Int,
                                minSignatures: Int = defaultMinimumSignatures,
                                maxRecordAge: Double = ClamAVPublishedVersions.maximumRecordAge) -> CheckReport {
        var report = CheckReport()
        let inventory: SignatureDatabaseInventory
        switch observation.inventory {
        case .failure(let error):
            let state: ServiceState = error.code == .directoryUnreadable && error.message.contains("No such file") ? .critical : .unknown
            report.results.append(CheckResult(state, "signature database: \(error.description)"))
            return report
        case .success(let value):
            inventory = value
        }
        let versions = inventory.versions
        guard let daily = inventory.daily else {
            report.results.append(CheckResult(.critical, "no daily database in \(observation.directory)"))
            return report
        }
        let built = daily.header.buildTimestamp.map(Double.init)
        if let built {
            let context = ScalarContext(thresholds)
            let metric = Metric("db_age", max(0, now - built), unit: .seconds, min: 0)
            report.results.append(context.evaluate(metric) { "daily \(daily.header.version) is \($0.humanValue) old" })
            report.perfdata.append(context.performance(metric))
        } else {
            report.results.append(CheckResult(.unknown, "daily \(daily.header.version): build time '\(daily.header.buildTime)' does not parse"))
        }
        report.perfdata.append(PerfDatum("daily_version", Double(daily.header.version), min: 0))
        if let main = versions.main { report.perfdata.append(PerfDatum("main_version", Double(main), min: 0)) }
        if let bytecode = versions.bytecode { report.perfdata.append(PerfDatum("bytecode_version", Double(bytecode), min: 0)) }
        report.perfdata.append(PerfDatum("signatures", Double(inventory.totalSignatures), min: 0))
        if inventory.totalSignatures < minSignatures {
            report.results.append(CheckResult(.critical, "the databases in \(observation.directory) hold \(inventory.totalSignatures) signatures (fewer than \(minSignatures)): clamd detects nothing; check freshclam"))
        }

        report.details.append("databases in \(observation.directory): main \(versions.main.map(String.init) ?? "none"), daily \(daily.header.version) (\(daily.fileName), built \(daily.header.buildTime)), bytecode \(versions.bytecode.map(String.init) ?? "none"); \(inventory.totalSignatures) signatures")
        switch observation.loaded {
        case .success(let loaded)?:
            if let loadedDaily = loaded.databaseVersion {
                if loadedDaily < daily.header.version {
                    report.results.append(CheckResult(.critical, "clamd has daily \(loadedDaily) loaded but \(daily.header.version) is on disk: reload clamd"))
                } else {
                    report.details.append("clamd has daily \(loadedDaily) loaded")
                }
            }
        case .failure(let error)?:
            report.details.append("clamd not asked for its loaded version: \(error.message)")
        case nil:
            break
        }
        switch observation.upstream {
        case .success(let published)? where published.published == nil:
            report.results.append(CheckResult(.unknown, "upstream record \(ClamAVPublishedVersions.recordName) carries no time: cannot tell whether daily \(daily.header.version) is current"))
        case .success(let published)? where now - published.published! > maxRecordAge || published.published! - now > 3600:
            let time = published.published!
            let age = now - time
            let when = age >= 0 ? "is \(DurationText.format(age)) old (more than \(DurationText.format(maxRecordAge)))" : "is \(DurationText.format(-age)) in the future"
            report.results.append(CheckResult(.unknown, "upstream record \(ClamAVPublishedVersions.recordName) \(when): cannot tell whether daily \(daily.header.version) is current"))
            report.details.append("the stale record says daily \(published.daily) (engine \(published.engine))")
        case .success(let published)?:
            let (difference, overflow) = published.daily.subtractingReportingOverflow(daily.header.version)
            let behind = overflow ? (published.daily > 0 ? Int.max : 0) : max(0, difference)
            report.perfdata.append(PerfDatum("daily_behind", Double(behind), min: 0))
            if behind > maxBehind {
                report.results.append(CheckResult(.warning, "daily \(daily.header.version) is \(behind) versions behind the published \(published.daily) (more than \(maxBehind))"))
            } else {
                report.details.append("ClamAV publishes daily \(published.daily) (engine \(published.engine)); \(behind) behind")
            }
        case .failure(let error)?:
            report.results.append(CheckResult(.unknown, "upstream version lookup failed: \(error.message)"))
        case nil:
            break
        }
        for problem in inventory.problems.prefix(5) { report.details.append("problem: \(problem.description)") }
        return report
    }
}
