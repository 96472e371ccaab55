import Dispatch
import Synchronization
import Yams

/// The clamd daemons a check or the exporter watches: one or more endpoints, in a fixed order,
/// no two alike.
///
/// Every command builds its pool with ``resolve(sockets:tcp:configured:defaultSocket:)``, so
/// `check_virus_scan` and `virus_scan_exporter` read `--socket`, `--tcp` and the layout file's
/// `clamd: {endpoints: [...]}` the same way:
/// - endpoints given on the command line replace the configured list;
/// - `--socket` values come first, then `--tcp` values, each in the order given (the command line
///   parser does not keep the order between two different options);
/// - neither: the configured list, else the default socket.
public struct ClamdPool: Sendable, Hashable {
    /// The daemons, never empty, without duplicates.
    public let endpoints: [ClamdEndpoint]

    /// A pool of these endpoints: at least one, none twice.
    public init(_ endpoints: [ClamdEndpoint]) throws(ClamdError) {
        guard !endpoints.isEmpty else { throw ClamdError(.invalidEndpoint, "no clamd endpoint given") }
        var seen = Set<ClamdEndpoint>()
        for endpoint in endpoints where !seen.insert(endpoint).inserted {
            throw ClamdError(.invalidEndpoint, "clamd endpoint \(endpoint) is given twice")
        }
        self.endpoints = endpoints
    }

    /// How many daemons.
    public var count: Int { endpoints.count }

    /// Parses `--socket` values (a path, `unix:PATH`, or any ``ClamdEndpoint/init(parsing:)``
    /// form, as before), `--tcp` values (`HOST:PORT`, `[V6]:PORT`, optionally `tcp:`-prefixed; a
    /// path is refused), and falls back to `configured`, then to `defaultSocket`.
    public static func resolve(sockets: [String], tcp: [String], configured: [ClamdEndpoint]? = nil,
                               defaultSocket: String) throws(ClamdError) -> ClamdPool {
        var endpoints: [ClamdEndpoint] = []
        for text in sockets { endpoints.append(try ClamdEndpoint(parsing: text)) }
        for text in tcp { endpoints.append(try tcpEndpoint(text)) }
        if !endpoints.isEmpty { return try ClamdPool(endpoints) }
        if let configured, !configured.isEmpty { return try ClamdPool(configured) }
        return try ClamdPool([try ClamdEndpoint(parsing: defaultSocket)])
    }

    /// A `--tcp` value: `HOST:PORT` or `[V6]:PORT`, with or without `tcp:`.
    public static func tcpEndpoint(_ text: String) throws(ClamdError) -> ClamdEndpoint {
        let endpoint = try ClamdEndpoint(parsing: text.hasPrefix("tcp:") ? text : "tcp:" + text)
        guard case .tcp = endpoint else {
            throw ClamdError(.invalidEndpoint, "clamd endpoint \"\(text)\" given to --tcp is a socket path: use --socket, or give HOST:PORT")
        }
        return endpoint
    }

    /// The one endpoint of a command that talks to a single clamd (restart-clamd, ignore-signature's
    /// reload, rescan-clean): an error naming them when several are given.
    public func single(for command: String) throws(ClamdError) -> ClamdEndpoint {
        guard endpoints.count == 1 else {
            throw ClamdError(.invalidEndpoint, "\(command) talks to one clamd, but \(endpoints.count) are given (\(endpoints.map(\.description).joined(separator: ", "))): give one --socket or --tcp")
        }
        return endpoints[0]
    }

    /// How many daemons must answer (`--min-up`): `given`, else all of them; 1 to ``count``.
    public func minimumUp(_ given: Int?) throws(CheckError) -> Int {
        guard let given else { return count }
        guard (1...count).contains(given) else {
            throw CheckError(.invalidArgument, "--min-up: must be 1 to \(count) (the number of clamd endpoints), got \(given)")
        }
        return given
    }

    /// A perfdata label fragment per endpoint, `[a-z0-9_]` only and unique within the pool:
    /// `tcp:10.0.0.5:3310` → `10_0_0_5_3310`, `unix:/run/clamav/clamd.ctl` → `run_clamav_clamd_ctl`
    /// (a second endpoint reducing to the same text gets `_2`, and so on).
    public var labels: [String] {
        var used = Set<String>()
        return endpoints.map { endpoint in
            let base = Self.label(endpoint)
            var label = base
            var n = 2
            while !used.insert(label).inserted {
                label = "\(base)_\(n)"
                n += 1
            }
            return label
        }
    }

    static func label(_ endpoint: ClamdEndpoint) -> String {
        let text: String
        switch endpoint {
        case .unix(let path): text = path
        case .tcp(let host, let port): text = "\(host):\(port)"
        }
        var out = ""
        for character in PerfDatum.sanitize(text) {
            if character == "_", out.isEmpty || out.hasSuffix("_") { continue }
            out.append(character)
        }
        while out.hasSuffix("_") { out.removeLast() }
        return out.isEmpty ? "clamd" : out
    }

    /// Runs `body` for every endpoint at once (one thread each) and returns the results in the
    /// pool's order: a down daemon costs its own time limit, not the sum of all.
    public func concurrently<T: Sendable>(_ body: @Sendable (ClamdEndpoint) -> T) -> [T] {
        Self.concurrently(endpoints, body)
    }

    /// Runs `body` for every item at once (one thread each); results in the items' order.
    public static func concurrently<Item: Sendable, T: Sendable>(_ items: [Item], _ body: @Sendable (Item) -> T) -> [T] {
        guard items.count > 1 else { return items.map(body) }
        let results = Mutex<[Int: T]>([:])
        DispatchQueue.concurrentPerform(iterations: items.count) { index in
            let value = body(items[index])
            results.withLock { $0[index] = value }
        }
        return results.withLock { all in items.indices.map { all[$0]! } }
    }
}

extension ClamdPool {
    /// The layout file's `clamd:` section, `{endpoints: ["unix:/run/clamav/clamd.ctl", "tcp:10.0.0.5:3310"]}`:
    /// each entry as ``ClamdEndpoint/init(parsing:)`` reads it. Nil when there is none.
    public static func parseConfigured(_ entries: [String]?, source: String = "config") throws(ClamdError) -> [ClamdEndpoint]? {
        guard let entries else { return nil }
        guard !entries.isEmpty else {
            throw ClamdError(.invalidEndpoint, "\(source): clamd.endpoints is empty; list at least one endpoint or leave the key out")
        }
        var endpoints: [ClamdEndpoint] = []
        for (index, entry) in entries.enumerated() {
            do throws(ClamdError) {
                endpoints.append(try ClamdEndpoint(parsing: entry))
            } catch {
                throw ClamdError(.invalidEndpoint, "\(source): clamd.endpoints[\(index)]: \(error.message)")
            }
        }
        do throws(ClamdError) { _ = try ClamdPool(endpoints) } catch {
            throw ClamdError(.invalidEndpoint, "\(source): clamd.endpoints: \(error.message)")
        }
        return endpoints
    }

    /// Only the `clamd:` section of a layout file's text (no other key is looked at, nothing on disk
    /// is checked): for the clamd modes, which run on hosts without the queue trees.
    public static func configured(inConfig text: String, source: String = "config") throws(ClamdError) -> [ClamdEndpoint]? {
        // A file that is not YAML, or has no clamd key, configures no pool (the layout's own
        // loading reports what else is wrong with it).
        guard let node = try? Yams.compose(yaml: text), let top = node.mapping, let clamd = top["clamd"] else { return nil }
        guard let fields = clamd.mapping else {
            throw ClamdError(.invalidEndpoint, "\(source): clamd must be a mapping, e.g. clamd: {endpoints: [\"unix:/run/clamav/clamd.ctl\"]}")
        }
        for (key, _) in fields {
            guard let name = key.string, ClamdConfigSection.CodingKeys(rawValue: name) != nil else {
                throw ClamdError(.invalidEndpoint, "\(source): unknown key '\(key.string ?? "?")' in clamd (known: endpoints)")
            }
        }
        guard let list = fields["endpoints"] else { return nil }
        guard let items = list.sequence else {
            throw ClamdError(.invalidEndpoint, "\(source): clamd.endpoints must be a list of endpoints")
        }
        var entries: [String] = []
        for (index, item) in items.enumerated() {
            guard let text = item.scalar?.string else {
                throw ClamdError(.invalidEndpoint, "\(source): clamd.endpoints[\(index)] must be a string such as \"tcp:10.0.0.5:3310\"")
            }
            entries.append(text)
        }
        return try parseConfigured(entries, source: source)
    }
}

/// The layout file's `clamd:` section.
struct ClamdConfigSection: Decodable {
    var endpoints: [String]?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case endpoints
    }
}

extension ClamdEndpoint {
    /// The options naming this endpoint to check_virus_scan: `--socket PATH` or `--tcp HOST:PORT`.
    public var commandLineOptions: [String] {
        switch self {
        case .unix(let path): ["--socket", path]
        case .tcp: ["--tcp", String(description.dropFirst(4))]
        }
    }
}
