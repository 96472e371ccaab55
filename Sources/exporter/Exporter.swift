import ArgumentParser
import Hummingbird
import Logging
import ScanCore
import ScanCoreCLI
import ServiceLifecycle
import UnixSignals

#if canImport(Glibc)
import Glibc
#endif

/// `virus_scan_exporter`: serves the pipeline's metrics for Prometheus and pushes them to Graphite.
@main
struct Exporter: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "virus_scan_exporter",
        abstract: "Prometheus exporter (and Graphite pusher) for the virus-scan pipeline and clamd.",
        version: ScanCoreVersion.string
    )

    @Option(name: .customLong("web.listen-address"), help: "Address to listen on (host:port). Loopback unless told.")
    var listenAddress: String = "127.0.0.1:\(ListenAddress.defaultPort)"

    @Option(
        name: .customLong("web.max-connections"),
        help: "Connections served at once; more wait in the listen backlog (default: from RLIMIT_NOFILE, at most \(ConnectionLimit.ceiling)).")
    var maxConnections: Int?

    @Option(name: .customLong("web.header-timeout"), help: "Seconds a connection may take to send a complete request head (also the keep-alive idle time).")
    var headerTimeout: Double = 5

    @Option(name: .customLong("web.idle-timeout"), help: "Seconds before a connection stalled mid-request or mid-response is closed.")
    var idleTimeout: Double = 30

    @Option(name: .customLong("scrape.timeout"), help: "Seconds a scrape waits for each collector; a later one is reported failed.")
    var scrapeTimeout: Double = 8

    @OptionGroup var pipeline: PipelineOptions

    @Option(name: .customLong("graphite.address"), help: "Push to carbon at HOST:PORT (plaintext protocol). Off unless given.")
    var graphiteAddress: String?

    @Option(name: .customLong("graphite.interval"), help: "Seconds between Graphite pushes.")
    var graphiteInterval: Double = 60

    @Option(name: .customLong("graphite.prefix"), help: "Graphite path prefix (default virus_scan.<host>).")
    var graphitePrefix: String?

    @Option(name: .customLong("status.interval"), help: ArgumentHelp("Seconds between the status gatherings behind the status page's charts.", valueName: "seconds"))
    var statusInterval: Double = 60

    @Option(name: .customLong("status.history"), help: ArgumentHelp("Points the status page's charts keep (1440 at one a minute: 24 hours).", valueName: "points"))
    var statusHistory: Int = StatusHistory.defaultCapacity

    @Option(name: .customLong("status.max-age"), help: ArgumentHelp("Seconds a gathered status serves page requests before the next request gathers again (0: every request).", valueName: "seconds"))
    var statusMaxAge: Double = 10

    @Option(name: .customLong("log.level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    func validate() throws {
        guard ListenAddress(parsing: listenAddress) != nil else {
            throw ValidationError("--web.listen-address must be host:port, got '\(listenAddress)'")
        }
        if let graphiteAddress, ListenAddress(parsing: graphiteAddress) == nil {
            throw ValidationError("--graphite.address must be host:port, got '\(graphiteAddress)'")
        }
        if let maxConnections, maxConnections <= 0 { throw ValidationError("--web.max-connections must be positive") }
        guard idleTimeout > 0, idleTimeout <= 86400 else { throw ValidationError("--web.idle-timeout must be positive (at most 86400)") }
        guard headerTimeout > 0, headerTimeout <= 3600 else { throw ValidationError("--web.header-timeout must be positive (at most 3600)") }
        guard scrapeTimeout > 0, scrapeTimeout <= 3600 else { throw ValidationError("--scrape.timeout must be positive (at most 3600)") }
        guard statusInterval >= 1, statusInterval <= 86400 else { throw ValidationError("--status.interval must be between 1 and 86400 seconds") }
        guard statusMaxAge >= 0, statusMaxAge <= 3600 else { throw ValidationError("--status.max-age must be between 0 and 3600 seconds") }
        guard (1...100_000).contains(statusHistory) else { throw ValidationError("--status.history must be between 1 and 100000 points") }
        guard graphiteInterval > 0 else { throw ValidationError("--graphite.interval must be positive") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("unknown --log.level '\(logLevel)'") }
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "virus_scan_exporter")
        var config = ExporterConfiguration()
        config.listen = ListenAddress(parsing: listenAddress)!
        let limit = ConnectionLimit.derive(snapshotThreads: pipeline.threads)
        config.maxConnections = min(maxConnections ?? limit.cap, limit.cap)
        if let maxConnections, maxConnections > limit.cap {
            logger.warning(
                "--web.max-connections lowered to what the descriptor limit allows",
                metadata: ["asked": "\(maxConnections)", "cap": "\(limit.cap)", "RLIMIT_NOFILE": "\(limit.softLimit)"])
        }
        logger.info("connection cap", metadata: ["connections": "\(config.maxConnections)", "RLIMIT_NOFILE": "\(limit.softLimit)"])
        config.idleTimeout = .milliseconds(Int64(idleTimeout * 1000))
        config.headerTimeout = .milliseconds(Int64(headerTimeout * 1000))
        config.scrapeTimeout = .milliseconds(Int64(scrapeTimeout * 1000))
        config.collectors = try pipeline.makeCollectors()
        config.status = try pipeline.statusSources()
        config.statusInterval = .milliseconds(Int64(statusInterval * 1000))
        config.statusHistory = statusHistory
        config.statusMaxAge = statusMaxAge
        if let graphiteAddress, let address = ListenAddress(parsing: graphiteAddress) {
            config.graphite = GraphiteConfiguration(
                host: address.host, port: address.port,
                interval: .milliseconds(Int64(graphiteInterval * 1000)),
                prefix: graphitePrefix ?? GraphitePlaintext.defaultPrefix(hostname: Self.hostname()))
        }
        let app = buildApplication(config: config, logger: logger)
        // One ServiceGroup: the HTTP server and the Graphite pusher; SIGTERM/SIGINT shut both down
        // gracefully. In-flight scrapes give up at once (DeadlineCollector); what still holds the group
        // after 3 s is cancelled, and the backstop ends the process 4 s after the signal regardless.
        var group = ServiceGroupConfiguration(
            services: [.init(service: app), .init(service: ShutdownBackstop(limit: .seconds(4), logger: logger), successTerminationBehavior: .ignore)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger)
        group.maximumGracefulShutdownDuration = .seconds(3)
        try await ServiceGroup(configuration: group).run()
        logger.info("stopped")
    }

    static func hostname() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
