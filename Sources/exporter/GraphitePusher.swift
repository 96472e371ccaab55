import Logging
import NIOCore
import NIOPosix
import ScanCore
import ScanCoreCLI
import ServiceLifecycle

struct GraphiteConfiguration: Sendable {
    var host: String
    var port: Int
    var interval: Duration = .seconds(60)
    /// Path prefix, `virus_scan.<host>` by default.
    var prefix: String
    /// Connect and write deadline of one push.
    var timeout: Duration = .seconds(10)
}

/// Pushes the scrape result to carbon every `interval` in the plaintext protocol.
///
/// Each push opens a new TCP connection, writes all lines and closes, so a carbon that restarted is
/// simply reached again on the next push. A carbon that is down or slow costs one failed push (logged)
/// within `timeout`; it never blocks `/metrics` (the pusher runs in its own task and shares the
/// scraper's single flight) and never stops the exporter.
struct GraphitePusher: Service {
    let configuration: GraphiteConfiguration
    let scraper: Scraper
    let clock: @Sendable () -> Double
    let logger: Logger

    func run() async throws {
        logger.info(
            "graphite push enabled",
            metadata: ["address": "\(configuration.host):\(configuration.port)", "prefix": "\(configuration.prefix)", "interval": "\(configuration.interval)"])
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            await pushOnce()
            do {
                try await cancelWhenGracefulShutdown {
                    try await Task.sleep(for: configuration.interval)
                }
            } catch {
                break
            }
        }
        logger.info("graphite pusher stopped")
    }

    /// One cycle: scrape, render, send. Errors are logged, not thrown. Returns whether carbon took the lines.
    @discardableResult
    func pushOnce() async -> Bool {
        let scrape = await scraper.scrape()
        let text = GraphitePlaintext.render(scrape.families, prefix: configuration.prefix, timestamp: Int64(scrape.started))
        do {
            try await GraphitePusher.send(text, host: configuration.host, port: configuration.port, timeout: configuration.timeout)
            logger.debug("pushed to graphite", metadata: ["bytes": "\(text.utf8.count)"])
            return true
        } catch {
            logger.warning("graphite push failed", metadata: ["address": "\(configuration.host):\(configuration.port)", "error": "\(error)"])
            return false
        }
    }

    /// Connects, writes `text`, closes; the whole exchange is bounded by `timeout`.
    static func send(_ text: String, host: String, port: Int, timeout: Duration) async throws {
        let nanos = Int64(timeout.seconds * 1e9)
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.nanoseconds(nanos))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connect(host: host, port: port)
            .get()
        // A carbon that accepts but never reads must not hold the write forever.
        let deadline = channel.eventLoop.scheduleTask(in: .nanoseconds(nanos)) {
            channel.close(promise: nil)
        }
        defer { deadline.cancel() }
        do {
            try await channel.writeAndFlush(ByteBuffer(string: text)).get()
            try await channel.close().get()
        } catch {
            channel.close(promise: nil)
            throw error
        }
    }
}
