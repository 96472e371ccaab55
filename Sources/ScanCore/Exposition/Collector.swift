import Dispatch
import Synchronization

/// A source of metric families, run at scrape time.
///
/// `collect` builds fresh families on every call. Throwing marks the collector failed for this scrape
/// (`virus_scan_collector_success{collector} 0`); families a failing collector wants to report anyway
/// (`clamav_up 0`) can be returned by not throwing and reporting failure through ``CollectorResult``.
public protocol Collector: Sendable {
    /// The `collector` label value: `queue`, `outcome`, `clamd`, `signatures`, `rescan`, `journal`.
    var name: String { get }
    func collect(now: Double) async -> CollectorResult
}

/// What one collector produced in one scrape.
public struct CollectorResult: Sendable {
    public var families: [MetricFamily]
    /// False when the collector could not do its job (a queue unreadable, clamd unreachable).
    public var success: Bool
    /// Why it failed, for the log.
    public var problems: [String]

    public init(families: [MetricFamily], success: Bool = true, problems: [String] = []) {
        self.families = families
        self.success = success
        self.problems = problems
    }

    public static func failure(_ problem: String, families: [MetricFamily] = []) -> CollectorResult {
        CollectorResult(families: families, success: false, problems: [problem])
    }
}

/// The result of one scrape: the families to render, and each collector's problems for the log.
public struct Scrape: Sendable {
    public var families: [MetricFamily]
    public var problems: [(collector: String, message: String)]
    public var started: Double
}

/// Runs every collector concurrently and adds the per-collector success and duration gauges and the
/// exporter's build info. Concurrent callers of ``scrape()`` share the scrape in flight (single flight):
/// a second request arriving while the tree is being walked waits for that walk instead of starting one.
public final class Scraper: Sendable {
    public let collectors: [any Collector]
    public let version: String
    private let clock: @Sendable () -> Double
    private let inFlight = Mutex<Task<Scrape, Never>?>(nil)
    private let scrapeCount = Atomic<Int>(0)

    /// - Parameters:
    ///   - clock: current Unix time in seconds (injected for tests).
    public init(collectors: [any Collector], version: String = ScanCoreVersion.string, clock: @escaping @Sendable () -> Double = { WallClock.now() }) {
        self.collectors = collectors
        self.version = version
        self.clock = clock
    }

    /// How many scrapes actually ran (shared ones count once). For tests and the log.
    public var scrapesRun: Int { scrapeCount.load(ordering: .relaxed) }

    /// Returns the scrape in flight, or starts one.
    public func scrape() async -> Scrape {
        let task = inFlight.withLock { current -> Task<Scrape, Never> in
            if let current { return current }
            let task = Task { await self.runScrape() }
            current = task
            return task
        }
        let result = await task.value
        inFlight.withLock { current in
            if current == task { current = nil }
        }
        return result
    }

    /// Runs all collectors once (no sharing).
    public func runScrape() async -> Scrape {
        scrapeCount.add(1, ordering: .relaxed)
        let now = clock()
        let results = await withTaskGroup(of: (Int, CollectorResult, Double).self) { group in
            for (index, collector) in collectors.enumerated() {
                group.addTask {
                    let start = ContinuousClock.now
                    let result = await collector.collect(now: now)
                    let elapsed = ContinuousClock.now - start
                    return (index, result, elapsed.seconds)
                }
            }
            var results = [(CollectorResult, Double)?](repeating: nil, count: collectors.count)
            for await (index, result, seconds) in group {
                results[index] = (result, seconds)
            }
            return results.map { $0! }
        }
        var families: [MetricFamily] = []
        var problems: [(collector: String, message: String)] = []
        var success: [([Label], Double)] = []
        var duration: [([Label], Double)] = []
        for (collector, (result, seconds)) in zip(collectors, results) {
            families += result.families
            let label = [Label("collector", collector.name)]
            success.append((label, result.success ? 1 : 0))
            duration.append((label, seconds))
            problems += result.problems.map { (collector.name, $0) }
        }
        families.append(
            .gauge("virus_scan_collector_success", help: "1 if the collector succeeded in this scrape, 0 if it failed.", success))
        families.append(
            .gauge("virus_scan_collector_duration_seconds", help: "Time the collector took in this scrape.", duration))
        families.append(
            .gauge(
                "virus_scan_exporter_build_info", help: "Exporter version; the value is always 1.",
                [([Label("version", version)], 1)]))
        return Scrape(families: families.mergedByName(), problems: problems, started: now)
    }
}

extension Duration {
    /// Seconds as a Double.
    public var seconds: Double {
        let (s, attoseconds) = components
        return Double(s) + Double(attoseconds) / 1e18
    }
}

/// Runs blocking work (directory walks, socket round trips) on a Dispatch worker thread so that it
/// never occupies one of the few cooperative threads the HTTP handlers need.
public func runBlocking<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(returning: work()) }
    }
}
