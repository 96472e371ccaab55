import Foundation
import Logging
import ScanCore
import ServiceLifecycle
import Testing

@testable import exporter

@Suite("Graphite push to a real carbon-cache", .serialized, .timeLimit(.minutes(2)))
struct GraphitePusherTests {
    func pusher(_ tree: PipelineTree, port: Int, interval: Duration = .seconds(60)) -> GraphitePusher {
        var logger = Logger(label: "graphite-test")
        logger.logLevel = .critical
        let scraper = Scraper(collectors: [QueueCollector(queues: tree.layout.queues)])
        return GraphitePusher(
            configuration: GraphiteConfiguration(host: "127.0.0.1", port: port, interval: interval, prefix: "virus_scan.testhost", timeout: .seconds(3)),
            scraper: scraper, clock: { WallClock.now() }, logger: logger)
    }

    @Test func carbonReceivesValuesSurvivesRestartAndDownIsHarmless() async throws {
        let tree = try PipelineTree()
        try tree.file("incoming/a.pdf", size: 11, age: 100)
        try tree.file("incoming/b.pdf", size: 22, age: 5000)
        let carbon = try CarbonCache()
        let pusher = pusher(tree, port: carbon.linePort)

        // Carbon down: the push fails fast and nothing crashes.
        let start = ContinuousClock.now
        #expect(await pusher.pushOnce() == false)
        // Bounded by the push timeout (3 s), not hung: the slack is for the scrape before the connect,
        // which waits for a cooperative-pool thread while 390 other tests run on two cores.
        #expect(ContinuousClock.now - start < .seconds(15))

        try await carbon.start()
        let t0 = Int(WallClock.now())
        #expect(await pusher.pushOnce())
        #expect(try await eventually { try !carbon.fetch("virus_scan.testhost.incoming.queue_files", from: t0 - 30).isEmpty })
        let files = try carbon.fetch("virus_scan.testhost.incoming.queue_files", from: t0 - 30)
        #expect(files.map(\.1) == [2])
        #expect(files.first.map { $0.0 >= t0 - 10 && $0.0 <= t0 + 20 } == true, "point at \(files.first.map { $0.0 } ?? 0), pushed at \(t0)")
        #expect(try await eventually { try carbon.fetch("virus_scan.testhost.incoming.queue_bytes", from: t0 - 30).map(\.1) == [33] })
        #expect(try await eventually { try carbon.fetch("virus_scan.testhost.draft-incoming.queue_files", from: t0 - 30).map(\.1) == [0] })
        #expect(try await eventually { try carbon.fetch("virus_scan.testhost.incoming.queue_file_age_seconds_bucket.le_3600", from: t0 - 30).map(\.1) == [1] })
        #expect(try await eventually { try carbon.fetch("virus_scan.testhost.incoming.queue_file_age_seconds_bucket.le_inf", from: t0 - 30).map(\.1) == [2] })
        #expect(try await eventually { try carbon.fetch("virus_scan.testhost.queue.collector_success", from: t0 - 30).map(\.1) == [1] })

        // Carbon restarts: the next push reconnects.
        carbon.stop()
        #expect(await pusher.pushOnce() == false)
        try await carbon.start()
        try tree.file("incoming/c.pdf", size: 1, age: 1)
        // Land in the next 10 s slot so the new value is a new point.
        let slot = Int(WallClock.now()) / 10 * 10 + 10
        try await Task.sleep(for: .seconds(Double(slot) - WallClock.now() + 0.2))
        #expect(await pusher.pushOnce())
        #expect(try await eventually { try carbon.fetch("virus_scan.testhost.incoming.queue_files", from: t0 - 30).map(\.1) == [2, 3] })
    }

    @Test func serviceLoopPushesEveryIntervalAndStopsOnGracefulShutdown() async throws {
        let tree = try PipelineTree()
        try tree.file("draft-incoming/x.pdf", size: 5, age: 10)
        let carbon = try CarbonCache()
        try await carbon.start()
        let t0 = Int(WallClock.now())
        let service = pusher(tree, port: carbon.linePort, interval: .seconds(1))
        var logger = Logger(label: "group")
        logger.logLevel = .critical
        let group = ServiceGroup(configuration: .init(services: [service], logger: logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            // Points in at least two 10 s slots prove repeated pushes.
            let pushedTwice = try await eventually(timeout: .seconds(30)) {
                try carbon.fetch("virus_scan.testhost.draft-incoming.queue_files", from: t0 - 30).count >= 2
            }
            #expect(pushedTwice)
            let stopAsked = ContinuousClock.now
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            #expect(ContinuousClock.now - stopAsked < .seconds(2))
        }
        #expect(try carbon.fetch("virus_scan.testhost.draft-incoming.queue_files", from: t0 - 30).allSatisfy { $0.1 == 1 })
    }
}
