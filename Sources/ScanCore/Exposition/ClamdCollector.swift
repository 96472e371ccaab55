/// The `clamd` collector: PING, VERSION and STATS over each endpoint, each scrape.
///
/// - `clamav_up` (1 when PING got PONG), `clamav_ping_duration_seconds` (when up)
/// - `clamav_build_info{version}` (engine version), and the loaded daily database from VERSION:
///   `clamav_database_version{database="daily",source="loaded"}`,
///   `clamav_database_build_timestamp_seconds{database="daily",source="loaded"}`
/// - `clamav_signatures{source="loaded"}` when VERSION carries the count (ClamAV 1.5+)
/// - from STATS: `clamav_threads{state}` (live, idle, max), `clamav_queue_items`,
///   `clamav_memory_bytes{kind}` (heap, mmap, used, free, releasable, pools_used, pools_total; those clamd reports),
///   and from its task lines `clamav_active_tasks` (scans in flight: neither idle threads nor the
///   STATS itself) and `clamav_longest_scan_seconds` (the longest-running of them; 0 when none)
///
/// clamd being down is data, not a collector failure: `clamav_up 0` with
/// `virus_scan_collector_success{collector="clamd"} 1`. The collector fails only when clamd answers
/// but its VERSION or STATS reply cannot be read. A command the operator disabled (ClamAV 1.5's
/// `EnableStatsCommand no` / `EnableVersionCommand no`: `COMMAND UNAVAILABLE`) is no failure
/// either: `clamav_up` stays 1 and the families that command would fill are left out.
///
/// Over a pool (``init(clients:timeZone:labelEndpoints:)`` with several daemons) every daemon is
/// asked at once, each within its client's time limits, and every family above carries an
/// `endpoint` label (``ClamdEndpoint/description``: `unix:/run/clamav/clamd.ctl`,
/// `tcp:10.0.0.5:3310`); one daemon down is `clamav_up{endpoint="…"} 0` beside the others.
/// Two more families say how the pool stands: `clamav_pool_endpoints` (daemons watched) and
/// `clamav_pool_up_endpoints` (daemons that answered PING). With one daemon nothing is labelled
/// and the pool families are left out, unless `labelEndpoints` asks for them.
public struct ClamdCollector: Collector {
    public let name = "clamd"
    /// The daemons, in the order their samples are written.
    public let clients: [ClamdClient]
    public let timeZone: ClamdVersion.TimeZone
    /// Whether families carry `endpoint` and the pool families are written.
    public let labelEndpoints: Bool

    /// The first (with one daemon, the only) client.
    public var client: ClamdClient { clients[0] }

    /// One daemon, unlabelled.
    public init(client: ClamdClient, timeZone: ClamdVersion.TimeZone = .local) {
        self.clients = [client]
        self.timeZone = timeZone
        self.labelEndpoints = false
    }

    /// A pool: `labelEndpoints` defaults to "more than one daemon".
    public init(clients: [ClamdClient], timeZone: ClamdVersion.TimeZone = .local, labelEndpoints: Bool? = nil) {
        precondition(!clients.isEmpty, "a clamd collector needs a daemon")
        self.clients = clients
        self.timeZone = timeZone
        self.labelEndpoints = labelEndpoints ?? (clients.count > 1)
    }

    struct Reading: Sendable {
        var ping: Result<Duration, ClamdError>
        var version: Result<ClamdVersion, ClamdError>?
        var stats: Result<ClamdStats, ClamdError>?
    }

    static func read(_ client: ClamdClient, timeZone: ClamdVersion.TimeZone) -> Reading {
        let ping: Result<Duration, ClamdError>
        do throws(ClamdError) { ping = .success(try client.ping()) } catch { ping = .failure(error) }
        guard case .success = ping else { return Reading(ping: ping) }
        var reading = Reading(ping: ping)
        do throws(ClamdError) { reading.version = .success(try client.version(timeZone: timeZone)) } catch { reading.version = .failure(error) }
        do throws(ClamdError) { reading.stats = .success(try client.stats()) } catch { reading.stats = .failure(error) }
        return reading
    }

    public func collect(now: Double) async -> CollectorResult {
        let clients = self.clients
        let timeZone = self.timeZone
        let readings: [Reading] = await runBlocking {
            ClamdPool.concurrently(clients) { Self.read($0, timeZone: timeZone) }
        }
        guard labelEndpoints else { return Self.result(readings[0], endpoint: clients[0].endpoint) }
        return Self.poolResult(zip(clients.map(\.endpoint), readings).map { ($0.0, $0.1) })
    }

    /// Each daemon's families with `endpoint` first among their labels, merged by family name in
    /// the order they first appear, and the two pool families.
    static func poolResult(_ readings: [(endpoint: ClamdEndpoint, reading: Reading)]) -> CollectorResult {
        var order: [String] = []
        var merged: [String: MetricFamily] = [:]
        var problems: [String] = []
        var success = true
        var up = 0
        for (endpoint, reading) in readings {
            if case .success = reading.ping { up += 1 }
            let one = result(reading, endpoint: endpoint)
            success = success && one.success
            problems += one.problems.map { $0.hasPrefix("clamd at ") ? $0 : "\(endpoint): \($0)" }
            let label = Label("endpoint", endpoint.description)
            for family in one.families {
                var labelled = family
                labelled.samples = family.samples.map { sample in
                    var sample = sample
                    sample.labels.insert(label, at: 0)
                    return sample
                }
                if var existing = merged[family.name] {
                    existing.samples += labelled.samples
                    merged[family.name] = existing
                } else {
                    order.append(family.name)
                    merged[family.name] = labelled
                }
            }
        }
        var families = order.map { merged[$0]! }
        families.append(.gauge("clamav_pool_endpoints", help: "clamd daemons this exporter watches (--socket, --tcp, clamd.endpoints).", value: Double(readings.count)))
        families.append(.gauge("clamav_pool_up_endpoints", help: "clamd daemons that answered PING with PONG in this scrape.", value: Double(up)))
        return CollectorResult(families: families, success: success, problems: problems)
    }

    /// What a step after PING (VERSION, STATS) answered; nil when it was not asked or failed. A
    /// disabled command (`COMMAND UNAVAILABLE`) is no problem; any other failure is one, named by `step`.
    private static func answered<Value>(_ result: Result<Value, ClamdError>?, _ step: String, _ problems: inout [String]) -> Value? {
        switch result {
        case .success(let value): return value
        case .failure(let error) where error.code == .commandDisabled: return nil
        case .failure(let error): problems.append("\(step): \(error.description)"); return nil
        case nil: return nil
        }
    }

    static func result(_ reading: Reading, endpoint: ClamdEndpoint) -> CollectorResult {
        var families: [MetricFamily] = []
        var problems: [String] = []
        switch reading.ping {
        case .failure(let error):
            families.append(.gauge("clamav_up", help: "1 if clamd answered PING with PONG in this scrape.", value: 0))
            // Down is reported by clamav_up; say why in the log, but the collector did its job.
            return CollectorResult(families: families, success: true, problems: ["clamd at \(endpoint) is down: \(error.description)"])
        case .success(let duration):
            families.append(.gauge("clamav_up", help: "1 if clamd answered PING with PONG in this scrape.", value: 1))
            families.append(.gauge("clamav_ping_duration_seconds", help: "Round trip of clamd's PING, connecting included.", value: duration.seconds))
        }
        if let version = answered(reading.version, "VERSION", &problems) {
            families.append(.gauge("clamav_build_info", help: "clamd's engine version (VERSION); the value is always 1.", [([Label("version", version.engineVersion)], 1)]))
            let loaded = [Label("database", "daily"), Label("source", "loaded")]
            if let v = version.databaseVersion {
                families.append(.gauge(
                    "clamav_database_version", help: "Signature database version: on disk (source=disk) or loaded in clamd (source=loaded, daily only).",
                    [(loaded, Double(v))]))
            }
            if let count = version.signatureCount {
                families.append(.gauge("clamav_signatures", help: SignatureCollector.signaturesHelp, [([Label("source", "loaded")], Double(count))]))
            }
            if let t = version.databaseBuildTime {
                families.append(.gauge(
                    "clamav_database_build_timestamp_seconds",
                    help: "Unix time the signature database was built: on disk (source=disk) or loaded in clamd (source=loaded, daily only).",
                    [(loaded, Double(t))]))
            }
        }
        if let stats = answered(reading.stats, "STATS", &problems) {
            let threads: [(String, Int?)] = [("live", stats.threadsLive), ("idle", stats.threadsIdle), ("max", stats.threadsMax)]
            families.append(.gauge(
                "clamav_threads", help: "clamd threads by state (STATS): live, idle and the max limit.",
                threads.compactMap { s in s.1.map { ([Label("state", s.0)], Double($0)) } }))
            if let items = stats.queueItems {
                families.append(.gauge("clamav_queue_items", help: "Jobs waiting in clamd's queue (STATS).", value: Double(items)))
            }
            let m = stats.memory
            let memory: [(String, Double?)] = [
                ("heap", m.heap), ("mmap", m.mmap), ("used", m.used), ("free", m.free), ("releasable", m.releasable),
                ("pools_used", m.poolsUsed), ("pools_total", m.poolsTotal),
            ]
            families.append(.gauge(
                "clamav_memory_bytes", help: "clamd memory by kind (STATS MEMSTATS); kinds clamd reports as N/A are left out.",
                memory.compactMap { k in k.1.map { ([Label("kind", k.0)], $0) } }))
            let inFlight = stats.inFlight
            families.append(.gauge("clamav_active_tasks", help: "Scans clamd has in flight (STATS task lines, without idle threads and the STATS itself).", value: Double(inFlight.count)))
            families.append(.gauge(
                "clamav_longest_scan_seconds", help: "How long the longest-running scan in flight has been running (STATS task lines); 0 when none is.",
                value: inFlight.first?.seconds ?? 0))
        }
        return CollectorResult(families: families, success: problems.isEmpty, problems: problems)
    }
}
