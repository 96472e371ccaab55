import ArgumentParser
import ScanCore

/// The pipeline options the exporter shares with `check_virus_scan`.
struct PipelineOptions: ParsableArguments {
    @Option(help: "Root of the pipeline tree (default \(PipelineLayout.defaultRoot)).")
    var root: String?

    @Option(help: "Pipeline config file (YAML; default \(PipelineLayout.defaultConfigFile) when it exists and --root is not given).")
    var config: String?

    @Option(name: .customLong("state-dir"), help: "Where the scan journal and rescan state live (default \(PipelineLayout.defaultStateDirectory)).")
    var stateDirectory: String?

    @Option(help: "Queue to export (repeatable; default: every queue of the layout).")
    var queue: [String] = []

    @Option(name: .customLong("socket"), help: "clamd Unix socket; repeat, and mix with --tcp, to watch a pool of daemons (default: the layout file's clamd.endpoints, else /var/run/clamav/clamd.ctl).")
    var sockets: [String] = []

    @Option(name: .customLong("tcp"), help: "clamd TCP address (host:port); repeat for a pool. Endpoints given here replace the layout file's list.")
    var tcpAddresses: [String] = []

    /// The first `--socket` (the only one without a pool).
    var socket: String? { sockets.first }
    /// The first `--tcp`.
    var tcp: String? { tcpAddresses.first }

    @Flag(name: .customLong("clamd.endpoint-label"), help: "Label the clamd families with endpoint (and export clamav_pool_*) even when watching one daemon; with several they always are.")
    var endpointLabel = false

    @Option(name: .customLong("age-source"), help: ArgumentHelp("Where a file's \"placed on disk\" time comes from: mtime or btime (default: the layout file's, else mtime), as for check_virus_scan.", valueName: "source"))
    var ageSource: AgeSource?

    @Option(name: .customLong("database-dir"), help: "ClamAV signature database directory.")
    var databaseDirectory: String = Defaults.databaseDirectory

    @Option(help: "Rescan lock file.")
    var lock: String?

    @Option(name: .customLong("detections.top-signatures"), help: ArgumentHelp("Signatures with a series of their own in virus_scan_detections_total and _recent; the rest are summed as signature=other.", valueName: "n"))
    var topSignatures: Int = ScanActivityTracker.defaultTopK

    @Option(name: .customLong("snapshot.threads"), help: "Threads per directory walk.")
    var threads: Int = 2

    func validate() throws {
        for address in tcpAddresses where ListenAddress(parsing: address.hasPrefix("tcp:") ? String(address.dropFirst(4)) : address) == nil {
            throw ValidationError("--tcp must be host:port, got '\(address)'")
        }
        do throws(ClamdError) { _ = try ClamdPool.resolve(sockets: sockets, tcp: tcpAddresses, defaultSocket: Self.defaultSocket) } catch {
            throw ValidationError(error.message)
        }
        guard (1...1000).contains(topSignatures) else { throw ValidationError("--detections.top-signatures must be between 1 and 1000") }
        guard threads >= 1 else { throw ValidationError("--snapshot.threads must be at least 1") }
    }

    /// The pipeline layout from `--config`/`--root`/`--state-dir`/`--age-source`, read as check_virus_scan reads it.
    func layout() throws -> PipelineLayout {
        var layout = try PipelineLayout.load(configFile: PipelineLayout.configFile(given: config, root: root), root: root, stateDirectory: stateDirectory)
        if let ageSource { layout.ageSource = ageSource }
        return layout
    }
}

extension AgeSource: ExpressibleByArgument {}
