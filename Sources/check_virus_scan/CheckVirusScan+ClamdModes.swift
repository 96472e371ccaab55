import ArgumentParser
import ScanCore
import ScanCoreCLI

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
    func targets(_ common: CommonOptions) throws -> ClamdTargets {
        let pool = try common.clamdPool()
        let minUp = try pool.minimumUp(minUp)
        return ClamdTargets(pool: pool, clients: try pool.endpoints.map { try client($0, common) }, minUp: minUp)
    }
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

extension CheckVirusScan {
    struct Clamd: ProbeMode, AllPart, UsesClamd {
        static let configuration = CommandConfiguration(
            abstract: "CRITICAL unless clamd answers PING with PONG in time; its queue length (STATS) against -w/-c, the longest-running scan against --scan-warn/--scan-crit.")
        static let allRanges = AllRanges(prefix: "clamd", part: "clamd", of: "for the queue length", unit: .plain)
        @OptionGroup var common: CommonOptions
        @OptionGroup var thresholds: ThresholdOptions
        @OptionGroup var clamd: ClamdOptions
        @OptionGroup var clamdConfig: ClamdConfigOptions
        @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Warning range for the longest-running scan in flight (seconds; STATS task lines): a hung scan.", valueName: "range"))
        var scanWarn: String?
        @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Critical range for the longest-running scan in flight (seconds).", valueName: "range"))
        var scanCrit: String?

        /// The longest-running scan's ranges in `all` (`--clamd-scan-warning`).
        enum ScanRanges: AllPart {
            static let allRanges = AllRanges(prefix: "clamd-scan", part: "clamd", of: "for the longest-running scan (seconds)", unit: .seconds)
        }

        func probe(_ readings: PipelineReadings) throws -> CheckProbe {
            let configured = (try? readings.layout())?.thresholds
            let ranges = try thresholds.thresholds(.plain, configured: configured?.clamd)
            let scanRanges = scanWarn == nil && scanCrit == nil && configured != nil
                ? configured!.clamdScan
                : try Thresholds(warning: scanWarn, critical: scanCrit, unit: .seconds, warningOption: "--scan-warn", criticalOption: "--scan-crit")
            _ = try readings.clamd()  // a bad endpoint or --min-up before clamd.conf is read
            return CheckProbe.clamd(thresholds: ranges, scanThresholds: scanRanges, configuration: clamdConfig.reading(), strict: true)
        }
    }

    struct Probe: ProbeMode, UsesClamd {
        static let configuration = CommandConfiguration(
            abstract: "Scans the EICAR test string (in memory) through clamd; CRITICAL unless clamd finds it.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var clamd: ClamdOptions

        func probe(_ readings: PipelineReadings) throws -> CheckProbe { CheckProbe.eicar(strict: true) }
    }

    struct Signatures: ProbeMode, AllPart, UsesClamd {
        static let configuration = CommandConfiguration(
            abstract: "Age of the daily database (its header's build time) against -w/-c (seconds); CRITICAL when the databases hold fewer than --min-signatures or clamd has an older one loaded; with --upstream, UNKNOWN when the published record is missing or over 12h old.")
        static let allRanges = AllRanges(prefix: "signatures", part: "signatures", of: "for the daily database age (seconds)", unit: .seconds)
        @OptionGroup var common: CommonOptions
        @OptionGroup var thresholds: ThresholdOptions
        @OptionGroup var clamd: ClamdOptions
        @OptionGroup var signatures: SignaturesOptions
        @Flag(name: .long, help: "Do not ask clamd which database it has loaded.")
        var noClamd = false

        func probe(_ readings: PipelineReadings) throws -> CheckProbe {
            let ranges = try thresholds.thresholds(.seconds, configured: (try? readings.layout())?.thresholds?.signatures)
            return try signatures.probe(ranges, askClamd: !noClamd, common: common)
        }
    }
}

/// What `signatures` and `all` share: `--upstream`, `--dns-server`, `--max-behind`, `--min-signatures`.
struct SignaturesOptions: ParsableArguments {
    @Flag(name: .long, help: "Also compare the daily version with the one ClamAV publishes (DNS TXT current.cvd.clamav.net).")
    var upstream = false
    @Option(name: .long, help: ArgumentHelp("DNS server for --upstream (IP or IP:PORT; default: the first nameserver of /etc/resolv.conf).", valueName: "address"))
    var dnsServer: String?
    @Option(name: .long, help: ArgumentHelp("With --upstream: WARNING when more than this many daily versions behind.", valueName: "n"))
    var maxBehind: Int = 2
    @Option(name: .long, help: ArgumentHelp("CRITICAL when the databases on disk hold fewer signatures than this (a broken update leaves 0).", valueName: "n"))
    var minSignatures: Int = SignaturesCheck.defaultMinimumSignatures

    func probe(_ ranges: Thresholds, askClamd: Bool, common: CommonOptions) throws -> CheckProbe {
        guard (0...1_000_000).contains(maxBehind) else { throw CheckError(.invalidArgument, "--max-behind: must be 0 to 1000000, got \(maxBehind)") }
        guard minSignatures >= 0 else { throw CheckError(.invalidArgument, "--min-signatures: must be 0 or more, got \(minSignatures)") }
        return CheckProbe.signatures(thresholds: ranges, maxBehind: maxBehind, minSignatures: minSignatures, askClamd: askClamd,
                               upstream: upstream ? { try resolver(common) } : nil)
    }

    /// `--dns-server`, else the first nameserver of /etc/resolv.conf.
    func resolver(_ common: CommonOptions) throws -> DNSTXTClient {
        let timeout = min(2, try common.timeLimit() / 4)
        if let dnsServer { return try DNSTXTClient(serverSpec: dnsServer, timeout: timeout) }
        guard let server = DNSTXTClient.systemServer(resolvConf: (try? readTextFile("/etc/resolv.conf")) ?? "") else {
            throw CheckError(.invalidArgument, "--upstream: no nameserver in /etc/resolv.conf; give --dns-server")
        }
        return try DNSTXTClient(serverSpec: server, timeout: timeout)
    }
}
