import ArgumentParser
import ScanCore

#if canImport(Glibc)
import Glibc
#endif

/// clamd's own time limit, shorter than the watchdog: clamd not answering in time is CRITICAL;
/// and, for a pool of daemons, how many must answer.
struct ClamdOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("How long clamd may take to answer (default: half of --timeout, at most 5s); then CRITICAL. Several daemons are asked at once, each within this limit.", valueName: "seconds"))
    var clamdTimeout: String?

    @Option(name: .long, help: ArgumentHelp("With several clamd endpoints: CRITICAL when fewer than N answer, WARNING when some do not (default: all of them).", valueName: "n"))
    var minUp: Int?

    /// A client for one endpoint, with `--clamd-timeout`.
    func client(_ endpoint: ClamdEndpoint, _ common: CommonOptions) throws -> ClamdClient {
        let limit = try clamdTimeout.map { try DurationText.parse($0, option: "--clamd-timeout") } ?? min(5, common.timeLimit() / 2)
        let duration = Duration.milliseconds(Int64(max(1, (limit * 1000).rounded())))
        return ClamdClient(endpoint: endpoint, timeouts: .init(connect: duration, command: duration, scan: duration))
    }

    /// The pool, a client per daemon, and `--min-up` checked against its size.
    func pool(_ common: CommonOptions) throws -> (pool: ClamdPool, clients: [ClamdClient], minUp: Int) {
        let pool = try common.clamdPool()
        let minUp = try pool.minimumUp(minUp)
        return (pool, try pool.endpoints.map { try client($0, common) }, minUp)
    }
}

/// Asks every daemon of a pool at once; results in the pool's order.
func askAll<T: Sendable>(_ clients: [ClamdClient], _ body: @Sendable (ClamdClient) -> T) -> [T] {
    ClamdPool.concurrently(clients, body)
}

/// Where clamd's configuration is: its size limits and AlertExceedsMax.
struct ClamdConfigOptions: ParsableArguments {
    static let defaultPath = "/etc/clamav/clamd.conf"

    @Option(name: .long, help: ArgumentHelp("clamd's configuration, for MaxFileSize, MaxScanSize, StreamMaxLength and AlertExceedsMax (default \(Self.defaultPath); none: do not read one).", valueName: "file"))
    var clamdConfig: String?

    func reading() -> ClamdConfigurationReading {
        ClamdConfigurationReading.read(clamdConfig ?? Self.defaultPath, isDefault: clamdConfig == nil)
    }
}

extension ClamdError {
    /// A malformed endpoint is a bad argument (UNKNOWN, exit 3), not the service's failure.
    var isArgumentError: Bool { code == .invalidEndpoint }
}

func measure<T>(_ body: () throws(ClamdError) -> T) -> Result<(T, Double), ClamdError> {
    let start = MonotonicClock.now()
    do {
        let value = try body()
        return .success((value, MonotonicClock.now() - start))
    } catch {
        return .failure(error)
    }
}

extension CheckVirusScan {
    struct Clamd: CheckMode {
        static let configuration = CommandConfiguration(
            abstract: "CRITICAL unless clamd answers PING with PONG in time; its queue length (STATS) against -w/-c, the longest-running scan against --scan-warn/--scan-crit.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var thresholds: ThresholdOptions
        @OptionGroup var clamd: ClamdOptions
        @OptionGroup var clamdConfig: ClamdConfigOptions
        @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Warning range for the longest-running scan in flight (seconds; STATS task lines): a hung scan.", valueName: "range"))
        var scanWarn: String?
        @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Critical range for the longest-running scan in flight (seconds).", valueName: "range"))
        var scanCrit: String?

        func check(_ context: CheckContext) throws -> CheckReport {
            let configured = (try? common.layout())?.thresholds
            let ranges = try thresholds.thresholds(.plain, configured: configured?.clamd)
            let scanRanges = scanWarn == nil && scanCrit == nil && configured != nil
                ? configured!.clamdScan
                : try Thresholds(warning: scanWarn, critical: scanCrit, unit: .seconds, warningOption: "--scan-warn", criticalOption: "--scan-crit")
            let (pool, clients, minUp) = try clamd.pool(common)
            if pool.count > 1 {
                context.phase("asking \(pool.count) clamd (\(pool.endpoints.map(\.description).joined(separator: ", "))) for PING, VERSION and STATS")
                let observations = askAll(clients) { ClamdObservation.take($0) }
                return ClamdPoolCheck.evaluate(observations, labels: pool.labels, minUp: minUp, thresholds: ranges, scanThresholds: scanRanges,
                                               configuration: clamdConfig.reading())
            }
            let observation = ClamdObservation.take(clients[0], configuration: clamdConfig.reading(), phase: context.phase)
            if case .failure(let error) = observation.ping, error.isArgumentError { throw error }
            return ClamdCheck.evaluate(observation, thresholds: ranges, scanThresholds: scanRanges)
        }
    }

    struct Probe: CheckMode {
        static let configuration = CommandConfiguration(
            abstract: "Scans the EICAR test string (in memory) through clamd; CRITICAL unless clamd finds it.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var clamd: ClamdOptions

        func check(_ context: CheckContext) throws -> CheckReport {
            let (pool, clients, minUp) = try clamd.pool(common)
            if pool.count > 1 {
                context.phase("scanning the EICAR test string through \(pool.count) clamd at once")
                let outcomes = askAll(clients) { client in measure { () throws(ClamdError) in try client.scanInstream(bytes: ProbeSample.eicar) } }
                return ProbePoolCheck.evaluate(zip(pool.endpoints, zip(pool.labels, outcomes)).map { ($0.0.description, $0.1.0, $0.1.1) }, minUp: minUp)
            }
            let client = clients[0]
            let name = client.endpoint.description
            context.phase("scanning the EICAR test string through clamd \(name)")
            let outcome = measure { () throws(ClamdError) in try client.scanInstream(bytes: ProbeSample.eicar) }
            if case .failure(let error) = outcome, error.isArgumentError { throw error }
            return ProbeCheck.evaluate(endpoint: name, outcome: outcome)
        }
    }

    struct Signatures: CheckMode {
        static let configuration = CommandConfiguration(
            abstract: "Age of the daily database (its header's build time) against -w/-c (seconds); CRITICAL when the databases hold fewer than --min-signatures or clamd has an older one loaded; with --upstream, UNKNOWN when the published record is missing or over 12h old.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var thresholds: ThresholdOptions
        @OptionGroup var clamd: ClamdOptions
        @Flag(name: .long, help: "Also compare the daily version with the one ClamAV publishes (DNS TXT current.cvd.clamav.net).")
        var upstream = false
        @Option(name: .long, help: ArgumentHelp("DNS server for --upstream (IP or IP:PORT; default: the first nameserver of /etc/resolv.conf).", valueName: "address"))
        var dnsServer: String?
        @Option(name: .long, help: ArgumentHelp("With --upstream: WARNING when more than this many daily versions behind.", valueName: "n"))
        var maxBehind: Int = 2
        @Flag(name: .long, help: "Do not ask clamd which database it has loaded.")
        var noClamd = false
        @Option(name: .long, help: ArgumentHelp("CRITICAL when the databases on disk hold fewer signatures than this (a broken update leaves 0).", valueName: "n"))
        var minSignatures: Int = SignaturesCheck.defaultMinimumSignatures

        func check(_ context: CheckContext) throws -> CheckReport {
            let ranges = try thresholds.thresholds(.seconds, configured: (try? common.layout())?.thresholds?.signatures)
            guard (0...1_000_000).contains(maxBehind) else { throw CheckError(.invalidArgument, "--max-behind: must be 0 to 1000000, got \(maxBehind)") }
            guard minSignatures >= 0 else { throw CheckError(.invalidArgument, "--min-signatures: must be 0 or more, got \(minSignatures)") }
            context.phase("reading the signature database headers in \(common.databaseDir)")
            let inventory = Result { () throws(SignatureDatabaseError) in try SignatureDatabaseInventory.read(directory: common.databaseDir) }
            var observation = SignaturesObservation(directory: common.databaseDir, inventory: inventory)
            var poolLoaded: [(endpoint: String, label: String, version: Result<ClamdVersion, ClamdError>)]?
            var minUp = 1
            if !noClamd {
                let (pool, clients, poolMinUp) = try clamd.pool(common)
                if pool.count > 1 {
                    context.phase("asking \(pool.count) clamd for VERSION at once")
                    let versions = askAll(clients) { client in Result { () throws(ClamdError) in try client.version() } }
                    poolLoaded = zip(pool.endpoints, zip(pool.labels, versions)).map { ($0.0.description, $0.1.0, $0.1.1) }
                    minUp = poolMinUp
                } else {
                    let client = clients[0]
                    context.phase("asking clamd \(client.endpoint) for VERSION")
                    observation.loaded = Result { () throws(ClamdError) in try client.version() }
                }
            }
            if upstream {
                let dns: DNSTXTClient
                if let dnsServer {
                    dns = try DNSTXTClient(serverSpec: dnsServer, timeout: min(2, try common.timeLimit() / 4))
                } else {
                    guard let server = DNSTXTClient.systemServer(resolvConf: (try? readTextFile("/etc/resolv.conf")) ?? "") else {
                        throw CheckError(.invalidArgument, "--upstream: no nameserver in /etc/resolv.conf; give --dns-server")
                    }
                    dns = try DNSTXTClient(serverSpec: server, timeout: min(2, try common.timeLimit() / 4))
                }
                context.phase("looking up \(ClamAVPublishedVersions.recordName) TXT at \(dns.server)")
                observation.upstream = Result { () throws(DNSError) -> ClamAVPublishedVersions in
                    let records = try dns.txt(ClamAVPublishedVersions.recordName)
                    guard let versions = records.lazy.compactMap(ClamAVPublishedVersions.init(txt:)).first else {
                        throw DNSError(.malformed, "\(ClamAVPublishedVersions.recordName) TXT '\(records.joined(separator: " "))' is not ENGINE:MAIN:DAILY:…")
                    }
                    return versions
                }
            }
            if let poolLoaded {
                return SignaturesCheck.evaluatePool(observation, loaded: poolLoaded, minUp: minUp, now: context.now, thresholds: ranges,
                                                    maxBehind: maxBehind, minSignatures: minSignatures)
            }
            return SignaturesCheck.evaluate(observation, now: context.now, thresholds: ranges, maxBehind: maxBehind, minSignatures: minSignatures)
        }
    }
}
