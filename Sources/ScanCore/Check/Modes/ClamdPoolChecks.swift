/// One daemon of a pool as a mode saw it: whether it answered, its own report (from the
/// single-daemon evaluation), and the daily database version it has loaded.
public struct ClamdPoolMember: Sendable {
    /// The endpoint as printed (`unix:/run/clamav/clamd.ctl`, `tcp:10.0.0.5:3310`).
    public var endpoint: String
    /// Its perfdata label fragment (``ClamdPool/labels``).
    public var label: String
    /// Why it did not answer; nil when it did.
    public var down: ClamdError?
    /// What the single-daemon evaluation found for it.
    public var report: CheckReport
    /// The daily version its VERSION reply names, when known.
    public var loadedDaily: Int?

    public init(endpoint: String, label: String, down: ClamdError?, report: CheckReport, loadedDaily: Int?) {
        self.endpoint = endpoint
        self.label = label
        self.down = down
        self.report = report
        self.loadedDaily = loadedDaily
    }
}

/// What every pool mode (clamd, probe, signatures with several endpoints) reports about the pool:
///
/// - CRITICAL when fewer than `minUp` daemons answer, WARNING when some do not but at least `minUp`
///   do; the message names each daemon that is down and the kind of failure (`connection refused`,
///   `timed out`), its line in the long output the full message;
/// - WARNING when the daemons that answer have different daily databases loaded (version skew),
///   naming each daemon behind the newest;
/// - each daemon's own non-OK findings, prefixed with its endpoint;
/// - one long-output line per daemon (`[STATE] ENDPOINT: summary`, its details indented below);
/// - perfdata `clamd_up` (daemons answering; critical below `minUp`), and per daemon
///   `clamd_LABEL_up` (0 or 1) and its own perfdata relabelled `clamd_LABEL_…`/`probe_LABEL_…`.
public enum ClamdPoolFindings {
    public static func combine(_ members: [ClamdPoolMember], minUp: Int, okText: String, into report: inout CheckReport) {
        let up = members.filter { $0.down == nil }
        let down = members.filter { $0.down != nil }
        let downState: ServiceState = up.count < minUp ? .critical : .warning
        // Line 1 stays short with many daemons: the kind of failure here, the full message on the daemon's own line.
        let downText = down.map { "\($0.endpoint) is down (\($0.down!.code))" }.joined(separator: "; ")
        if up.count < minUp {
            report.results.append(CheckResult(.critical, "\(up.count) of \(members.count) clamd answer, fewer than --min-up \(minUp): \(downText)"))
        } else if !down.isEmpty {
            report.results.append(CheckResult(.warning, "\(up.count) of \(members.count) clamd answer (--min-up \(minUp)): \(downText)"))
        }
        for member in down where ClamdFindings.state(for: member.down!) == .unknown {
            report.results.append(CheckResult(.unknown, "\(member.endpoint): \(member.down!.message)"))
        }
        let loaded = up.compactMap { member in member.loadedDaily.map { (endpoint: member.endpoint, daily: $0) } }
        if let newest = loaded.map(\.daily).max(), loaded.contains(where: { $0.daily != newest }) {
            let behind = loaded.filter { $0.daily != newest }.map { "\($0.endpoint) has daily \($0.daily)" }
            let ahead = loaded.filter { $0.daily == newest }.map(\.endpoint)
            report.results.append(CheckResult(.warning, "database version skew across the clamd pool: \(behind.joined(separator: ", ")) loaded, behind daily \(newest) on \(ahead.joined(separator: ", "))"))
        }
        for member in up {
            for result in member.report.results where result.state != .ok {
                report.results.append(CheckResult(result.state, "\(member.endpoint): \(result.text)"))
            }
        }
        if down.isEmpty { report.results.append(CheckResult(.ok, okText)) }

        report.perfdata.append(PerfDatum("clamd_up", Double(up.count), thresholds: Thresholds(critical: ThresholdRange(start: Double(minUp), end: .infinity)),
                                         min: 0, max: Double(members.count)))
        for member in members {
            report.perfdata.append(PerfDatum("clamd_\(member.label)_up", member.down == nil ? 1 : 0, min: 0, max: 1))
            if let daily = member.loadedDaily {
                report.perfdata.append(PerfDatum("clamd_\(member.label)_daily", Double(daily), min: 0))
            }
            for datum in member.report.perfdata {
                var relabelled = datum
                relabelled.label = relabel(datum.label, member.label)
                report.perfdata.append(relabelled)
            }
            if let error = member.down {
                report.details.append("[\(downState)] \(member.endpoint): down: \(error.message)")
            } else {
                report.details.append("[\(member.report.state)] \(member.endpoint): \(member.report.summary)")
            }
            for line in member.report.details { report.details.append("  " + line) }
        }
    }

    /// `clamd_time` → `clamd_LABEL_time`, `probe_time` → `probe_LABEL_time`, `longest_scan` → `clamd_LABEL_longest_scan`.
    static func relabel(_ label: String, _ fragment: String) -> String {
        for prefix in ["clamd_", "probe_"] where label.hasPrefix(prefix) {
            return prefix + fragment + "_" + label.dropFirst(prefix.count)
        }
        return "clamd_\(fragment)_\(label)"
    }
}

/// `clamd` over a pool: ``ClamdCheck`` per daemon (clamd.conf read once), combined by
/// ``ClamdPoolFindings``.
public enum ClamdPoolCheck {
    /// - Parameters:
    ///   - observations: one per daemon, in the pool's order (their `configuration` is ignored).
    ///   - labels: the perfdata fragment of each (``ClamdPool/labels``).
    public static func evaluate(_ observations: [ClamdObservation], labels: [String], minUp: Int, thresholds: Thresholds,
                                scanThresholds: Thresholds = .none, configuration: ClamdConfigurationReading = .notRead) -> CheckReport {
        var members: [ClamdPoolMember] = []
        for (observation, label) in zip(observations, labels) {
            var single = observation
            single.configuration = .notRead
            var down: ClamdError?
            if case .failure(let error) = observation.ping { down = error }
            var daily: Int?
            if case .success(let version)? = observation.version { daily = version.databaseVersion }
            members.append(ClamdPoolMember(endpoint: observation.endpoint, label: label, down: down,
                                           report: ClamdCheck.evaluate(single, thresholds: thresholds, scanThresholds: scanThresholds), loadedDaily: daily))
        }
        var report = CheckReport()
        let dailies = Set(members.compactMap(\.loadedDaily))
        let same = dailies.count == 1 && members.allSatisfy { $0.loadedDaily != nil } ? ", daily \(dailies.first!)" : ""
        ClamdPoolFindings.combine(members, minUp: minUp, okText: "\(members.count) of \(members.count) clamd answer PONG\(same)", into: &report)
        ClamdCheck.configurationFindings(configuration, into: &report)
        return report
    }
}

/// `probe` over a pool: the EICAR test string through every daemon; a daemon that answers but
/// does not detect it is CRITICAL whatever `minUp` says.
public enum ProbePoolCheck {
    public static func evaluate(_ outcomes: [(endpoint: String, label: String, outcome: Result<(ScanVerdict, Double), ClamdError>)], minUp: Int) -> CheckReport {
        var members: [ClamdPoolMember] = []
        for item in outcomes {
            var down: ClamdError?
            if case .failure(let error) = item.outcome { down = error }
            members.append(ClamdPoolMember(endpoint: item.endpoint, label: item.label, down: down,
                                           report: ProbeCheck.evaluate(endpoint: item.endpoint, outcome: item.outcome), loadedDaily: nil))
        }
        var report = CheckReport()
        ClamdPoolFindings.combine(members, minUp: minUp, okText: "\(members.count) of \(members.count) clamd found the EICAR test string", into: &report)
        return report
    }
}

extension SignaturesCheck {
    /// `signatures` over a pool: the databases on disk as ``evaluate(_:now:thresholds:maxBehind:minSignatures:maxRecordAge:)``
    /// judges them (its `loaded` is ignored), then each daemon's VERSION: CRITICAL when one has an
    /// older daily loaded than the disk's (as for one daemon), and the pool findings (down
    /// daemons against `minUp`, version skew).
    public static func evaluatePool(_ observation: SignaturesObservation, loaded: [(endpoint: String, label: String, version: Result<ClamdVersion, ClamdError>)],
                                    minUp: Int, now: Double, thresholds: Thresholds, maxBehind: Int,
                                    minSignatures: Int = defaultMinimumSignatures,
                                    maxRecordAge: Double = ClamAVPublishedVersions.maximumRecordAge) -> CheckReport {
        var disk = observation
        disk.loaded = nil
        var report = evaluate(disk, now: now, thresholds: thresholds, maxBehind: maxBehind, minSignatures: minSignatures, maxRecordAge: maxRecordAge)
        var onDisk: Int?
        if case .success(let inventory) = observation.inventory { onDisk = inventory.daily?.header.version }
        var members: [ClamdPoolMember] = []
        for item in loaded {
            var own = CheckReport()
            var down: ClamdError?
            var daily: Int?
            switch item.version {
            case .success(let version):
                daily = version.databaseVersion
                if let loadedDaily = version.databaseVersion {
                    if let onDisk, loadedDaily < onDisk {
                        own.results.append(CheckResult(.critical, "clamd has daily \(loadedDaily) loaded but \(onDisk) is on disk: reload clamd"))
                    } else {
                        own.results.append(CheckResult(.ok, "daily \(loadedDaily) loaded"))
                    }
                } else {
                    own.results.append(CheckResult(.ok, "VERSION names no daily database"))
                }
            case .failure(let error) where error.code == .commandDisabled:
                own.results.append(CheckResult(.ok, "VERSION disabled: the loaded database is not known"))
            case .failure(let error):
                down = error
            }
            members.append(ClamdPoolMember(endpoint: item.endpoint, label: item.label, down: down, report: own, loadedDaily: daily))
        }
        var pool = CheckReport()
        ClamdPoolFindings.combine(members, minUp: minUp, okText: "\(members.count) of \(members.count) clamd answer VERSION", into: &pool)
        report.append(pool)
        return report
    }
}

extension CheckProbe {
    /// `clamd`: every daemon observed (``PipelineReadings/clamdObservations(configuration:)``),
    /// judged by ``ClamdCheck`` (one daemon) or ``ClamdPoolCheck`` (a pool): `thresholds` for the
    /// queue length, `scanThresholds` for the longest-running scan, `configuration` clamd.conf's
    /// size limits. `strict`: a single daemon whose endpoint cannot be used is the plugin's error
    /// (thrown: UNKNOWN on its own line; the mode run alone) rather than a finding (`all`).
    public static func clamd(thresholds: Thresholds, scanThresholds: Thresholds, configuration: ClamdConfigurationReading = .notRead,
                             strict: Bool = false) -> CheckProbe {
        CheckProbe(mode: "clamd") { readings in
            let targets = try readings.clamd()
            let observations = try readings.clamdObservations(configuration: configuration)
            if targets.clients.count > 1 {
                return ClamdPoolCheck.evaluate(observations, labels: targets.pool.labels, minUp: targets.minUp, thresholds: thresholds,
                                               scanThresholds: scanThresholds, configuration: configuration)
            }
            if strict, case .failure(let error) = observations[0].ping, error.isArgumentError { throw error }
            return ClamdCheck.evaluate(observations[0], thresholds: thresholds, scanThresholds: scanThresholds)
        }
    }

    /// `probe`: the EICAR test string scanned through every daemon (in memory, INSTREAM), judged
    /// by ``ProbeCheck`` or ``ProbePoolCheck``; `strict` as for ``clamd(thresholds:scanThresholds:configuration:strict:)``.
    public static func eicar(strict: Bool = false) -> CheckProbe {
        CheckProbe(mode: "probe") { readings in
            let targets = try readings.clamd()
            if targets.clients.count > 1 {
                readings.phase("scanning the EICAR test string through \(targets.clients.count) clamd at once")
                let outcomes = ClamdPool.concurrently(targets.clients) { client in measured { () throws(ClamdError) in try client.scanInstream(bytes: ProbeSample.eicar) } }
                let names = targets.names
                let labels = targets.pool.labels
                return ProbePoolCheck.evaluate(outcomes.indices.map { (names[$0], labels[$0], outcomes[$0]) }, minUp: targets.minUp)
            }
            let client = targets.clients[0]
            let name = client.endpoint.description
            readings.phase("scanning the EICAR test string through clamd \(name)")
            let outcome = measured { () throws(ClamdError) in try client.scanInstream(bytes: ProbeSample.eicar) }
            if strict, case .failure(let error) = outcome, error.isArgumentError { throw error }
            return ProbeCheck.evaluate(endpoint: name, outcome: outcome)
        }
    }

    /// `signatures`: the database headers on disk, what each daemon has loaded (VERSION, unless
    /// not `askClamd`; with `reuseObservations` taken from the `clamd` probe's round trip instead,
    /// as the status page does), and with `upstream` what ClamAV publishes (DNS TXT
    /// `current.cvd.clamav.net`), judged by ``SignaturesCheck``.
    public static func signatures(thresholds: Thresholds, maxBehind: Int = 2, minSignatures: Int = SignaturesCheck.defaultMinimumSignatures,
                                  askClamd: Bool = true, reuseObservations: Bool = false, upstream: (() throws -> DNSTXTClient)? = nil) -> CheckProbe {
        CheckProbe(mode: "signatures") { readings in
            var observation = SignaturesObservation(directory: readings.databaseDirectory, inventory: readings.signatureInventory())
            var pool: (loaded: [(endpoint: String, label: String, version: Result<ClamdVersion, ClamdError>)], minUp: Int)?
            if askClamd {
                let targets = try readings.clamd()
                let versions = reuseObservations ? try readings.clamdObservations().map(\.loadedVersion) : try readings.clamdVersions()
                if targets.clients.count > 1 {
                    let names = targets.names
                    let labels = targets.pool.labels
                    pool = (versions.indices.map { (names[$0], labels[$0], versions[$0]) }, targets.minUp)
                } else {
                    observation.loaded = versions[0]
                }
            }
            if let upstream {
                let dns = try upstream()
                readings.phase("looking up \(ClamAVPublishedVersions.recordName) TXT at \(dns.server)")
                observation.upstream = ClamAVPublishedVersions.lookUp(dns)
            }
            if let pool {
                return SignaturesCheck.evaluatePool(observation, loaded: pool.loaded, minUp: pool.minUp, now: readings.now, thresholds: thresholds,
                                                    maxBehind: maxBehind, minSignatures: minSignatures)
            }
            return SignaturesCheck.evaluate(observation, now: readings.now, thresholds: thresholds, maxBehind: maxBehind, minSignatures: minSignatures)
        }
    }
}

extension ClamdObservation {
    /// The database version the daemon reported, or why there is none (PING failed: that error).
    public var loadedVersion: Result<ClamdVersion, ClamdError> {
        switch (ping, version) {
        case (.failure(let error), _): .failure(error)
        case (_, let reply?): reply
        default: .failure(ClamdError(.commandFailed, "VERSION not asked"))
        }
    }
}

extension ClamAVPublishedVersions {
    /// The published versions: `dns`'s TXT lookup of ``recordName``, parsed.
    public static func lookUp(_ dns: DNSTXTClient) -> Result<ClamAVPublishedVersions, DNSError> {
        Result { () throws(DNSError) -> ClamAVPublishedVersions in
            let records = try dns.txt(recordName)
            guard let versions = records.lazy.compactMap(ClamAVPublishedVersions.init(txt:)).first else {
                throw DNSError(.malformed, "\(recordName) TXT '\(records.joined(separator: " "))' is not ENGINE:MAIN:DAILY:…")
            }
            return versions
        }
    }
}
