import ArgumentParser
import Logging
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

    @Option(help: "clamd Unix socket.")
    var socket: String?

    @Option(help: "clamd TCP address (host:port) instead of the socket.")
    var tcp: String?

    @Option(name: .customLong("database-dir"), help: "ClamAV signature database directory.")
    var databaseDirectory: String = "/var/lib/clamav"

    @Option(help: "Rescan lock file.")
    var lock: String?

    @Option(name: .customLong("detections.top-signatures"), help: ArgumentHelp("Signatures with a series of their own in virus_scan_detections_total and _recent; the rest are summed as signature=other.", valueName: "n"))
    var topSignatures: Int = ScanActivityTracker.defaultTopK

    @Option(name: .customLong("snapshot.threads"), help: "Threads per directory walk.")
    var threads: Int = 2

    func validate() throws {
        if socket != nil && tcp != nil { throw ValidationError("give --socket or --tcp, not both") }
        if let tcp, ListenAddress(parsing: tcp) == nil { throw ValidationError("--tcp must be host:port, got '\(tcp)'") }
        guard (1...1000).contains(topSignatures) else { throw ValidationError("--detections.top-signatures must be between 1 and 1000") }
        guard threads >= 1 else { throw ValidationError("--snapshot.threads must be at least 1") }
    }

    func layout() throws -> PipelineLayout {
        try PipelineLayout.load(configFile: PipelineLayout.configFile(given: config, root: root), root: root, stateDirectory: stateDirectory)
    }
}
