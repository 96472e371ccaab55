import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import ScanCore
import ScanCoreCLI
import ServiceLifecycle

/// Everything `buildApplication(config:)` needs; the command line fills it, tests build it directly.
struct ExporterConfiguration: Sendable {
    /// Where the HTTP server binds (port 0: any free port, reported through `onServerRunning`).
    var listen: ListenAddress = .init(host: "127.0.0.1", port: ListenAddress.defaultPort)
    /// The collectors run on each scrape.
    var collectors: [any Collector] = []
    /// Graphite push; nil disables it.
    var graphite: GraphiteConfiguration?
    /// Connections served at once; further ones wait in the listen backlog. The command derives it
    /// from RLIMIT_NOFILE (``ConnectionLimit``).
    var maxConnections: Int = 64
    /// A connection that has not sent a complete request head this long after it was accepted (or
    /// after its previous response) is closed: slow-loris clients and idle keep-alives.
    var headerTimeout: Duration = .seconds(5)
    /// Connections stalled while a request body is read or a response written are closed after this.
    var idleTimeout: Duration = .seconds(30)
    /// A scrape waits this long for each collector; one that is later is reported failed.
    var scrapeTimeout: Duration = .seconds(8)
    /// Called with the bound port once the server listens.
    var onServerRunning: @Sendable (Int) async -> Void = { _ in }
    var clock: @Sendable () -> Double = { WallClock.now() }
    /// The status page's sources (`/`, `/status.json`); nil serves the plain landing page.
    var status: StatusSources?
    /// Seconds between the status gatherings that feed the page's charts.
    var statusInterval: Duration = .seconds(60)
    /// Points the charts keep (``StatusHistory``).
    var statusHistory: Int = StatusHistory.defaultCapacity
    /// A page request reuses a status gathered less than this many seconds ago.
    var statusMaxAge: Double = 10
}

/// The paths served; any method but GET and HEAD on them is 405.
let servedPaths: Set<String> = ["/metrics", "/", "/status.json", "/status.css", "/-/healthy"]

/// The routes: `/metrics`, `/` (the status page), `/status.json`, `/status.css`, `/-/healthy` (GET,
/// and HEAD: the same head, no body; other methods 405 with `Allow`). Everything else is 404.
func buildRouter(scraper: Scraper, status board: StatusBoard? = nil, logger: Logger) -> Router<BasicRequestContext> {
    let router = Router(options: .autoGenerateHeadEndpoints)
    router.add(middleware: MethodNotAllowedMiddleware(paths: servedPaths))
    router.get("metrics") { _, _ -> Response in
        let scrape = await scraper.scrape()
        for problem in scrape.problems {
            logger.warning("collector failed", metadata: ["collector": "\(problem.collector)", "error": "\(problem.message)"])
        }
        let text = PrometheusTextFormat.render(scrape.families)
        return Response(
            status: .ok,
            headers: [.contentType: PrometheusTextFormat.contentType],
            body: .init(byteBuffer: ByteBuffer(string: text))
        )
    }
    router.get("/") { request, _ -> Response in
        guard let board else {
            return Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: landingPage)))
        }
        let refresh = request.uri.queryParameters.get("refresh").flatMap { Int($0) }.map { min(max($0, 10), 3600) }
        let page = StatusPage.render(await board.current(), refresh: refresh)
        return Response(status: .ok, headers: statusHeaders("text/html; charset=utf-8"), body: .init(byteBuffer: ByteBuffer(string: page)))
    }
    router.get("status.json") { _, _ -> Response in
        guard let board else { return Response(status: .notFound) }
        let json = (try? statusEncoder().encode(await board.current())) ?? Data("{}".utf8)
        return Response(status: .ok, headers: statusHeaders("application/json"), body: .init(byteBuffer: ByteBuffer(bytes: json)))
    }
    router.get("status.css") { _, _ -> Response in
        Response(status: .ok, headers: statusHeaders("text/css; charset=utf-8"), body: .init(byteBuffer: ByteBuffer(string: StatusPage.stylesheet)))
    }
    router.get("-/healthy") { _, _ -> Response in
        Response(
            status: .ok,
            headers: [.contentType: "text/plain; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: "virus_scan_exporter is Healthy.\n"))
        )
    }
    return router
}

/// The status page's headers: its content type, the strict CSP, no sniffing, no framing, no caching.
func statusHeaders(_ contentType: String) -> HTTPFields {
    [
        .contentType: contentType,
        .contentSecurityPolicy: StatusPage.contentSecurityPolicy,
        .init("X-Content-Type-Options")!: "nosniff",
        .init("Referrer-Policy")!: "no-referrer",
        .cacheControl: "no-store",
    ]
}

func statusEncoder() -> JSONEncoder {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return encoder
}

let landingPage = """
    <!DOCTYPE html>
    <html lang="en">
    <head><meta charset="utf-8"><title>virus_scan_exporter</title></head>
    <body>
    <h1>virus_scan_exporter</h1>
    <p>Prometheus exporter for the virus-scan pipeline: queues, scan waits, outcomes, clamd and signatures.</p>
    <ul>
    <li><a href="metrics">Metrics</a></li>
    <li><a href="-/healthy">Health</a></li>
    </ul>
    <p>Version \(ScanCoreVersion.string)</p>
    </body>
    </html>

    """

/// The exporter as a service: the HTTP application, with the Graphite pusher (when configured) as a
/// service of the same group. Run it with `runService()` or inside a `ServiceGroup`.
func buildApplication(config: ExporterConfiguration, logger: Logger = Logger(label: "virus_scan_exporter")) -> some ApplicationProtocol {
    let collectors = config.collectors.map { DeadlineCollector($0, timeout: config.scrapeTimeout) as any Collector }
    let scraper = Scraper(collectors: collectors, clock: config.clock)
    return buildApplication(config: config, scraper: scraper, logger: logger)
}

func buildApplication(config: ExporterConfiguration, scraper: Scraper, logger: Logger) -> some ApplicationProtocol {
    let board = config.status.map { StatusBoard(sources: $0, history: StatusHistory(capacity: config.statusHistory), maxAge: config.statusMaxAge, clock: config.clock) }
    let router = buildRouter(scraper: scraper, status: board, logger: logger)
    var services: [any Service] = []
    if let board { services.append(StatusSampler(board: board, interval: config.statusInterval, logger: logger)) }
    if let graphite = config.graphite {
        services.append(GraphitePusher(configuration: graphite, scraper: scraper, clock: config.clock, logger: logger))
    }
    let onServerRunning = config.onServerRunning
    let headerTimeout = TimeAmount.nanoseconds(Int64(config.headerTimeout.seconds * 1e9))
    return Application(
        router: router,
        server: .http1(
            configuration: .init(
                additionalChannelHandlers: [RequestHeadDeadline(timeout: headerTimeout)],
                idleTimeout: TimeAmount.nanoseconds(Int64(config.idleTimeout.seconds * 1e9)))),
        configuration: .init(
            address: .hostname(config.listen.host, port: config.listen.port),
            serverName: "virus_scan_exporter",
            availableConnectionsDelegate: MaximumAvailableConnections(config.maxConnections)
        ),
        services: services,
        onServerRunning: { channel in
            logger.info("listening", metadata: ["address": "\(channel.localAddress.map { "\($0)" } ?? "?")"])
            await onServerRunning(channel.localAddress?.port ?? 0)
        },
        logger: logger
    )
}
