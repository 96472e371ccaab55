import ArgumentParser
import ScanCore
import ScanCoreCLI

/// The exporter's pipeline options: ScanCoreCLI's groups (the same words as check_virus_scan's),
/// plus what only the exporter has.
struct PipelineOptions: ParsableArguments {
    @OptionGroup var location: LayoutOptions
    @OptionGroup var clamd: ClamdPoolOptions

    @Flag(name: .customLong("clamd.endpoint-label"), help: "Label the clamd families with endpoint (and export clamav_pool_*) even when watching one daemon; with several they always are.")
    var endpointLabel = false

    @OptionGroup var age: AgeSourceOption
    @OptionGroup var database: DatabaseDirectoryOption

    @Option(help: "Rescan lock file.")
    var lock: String?

    @Option(name: .customLong("detections.top-signatures"), help: ArgumentHelp("Signatures with a series of their own in virus_scan_detections_total and _recent; the rest are summed as signature=other.", valueName: "n"))
    var topSignatures: Int = ScanActivityTracker.defaultTopK

    @Option(name: .customLong("snapshot.threads"), help: "Threads per directory walk.")
    var threads: Int = 2

    var root: String? { location.root }
    var config: String? { location.config }
    var stateDirectory: String? { location.stateDir }
    var queue: [String] { location.queues }
    var sockets: [String] { clamd.socket }
    var tcpAddresses: [String] { clamd.tcp }
    /// The first `--socket` (the only one without a pool).
    var socket: String? { sockets.first }
    /// The first `--tcp`.
    var tcp: String? { tcpAddresses.first }
    var ageSource: AgeSource? { age.ageSource }
    var databaseDirectory: String { database.databaseDir }

    /// A daemon refuses a bad endpoint at start (exit 64), where the check says UNKNOWN when run.
    func validate() throws {
        for address in tcpAddresses where ListenAddress(parsing: address.hasPrefix("tcp:") ? String(address.dropFirst(4)) : address) == nil {
            throw ValidationError("--tcp must be host:port, got '\(address)'")
        }
        do throws(ClamdError) { _ = try clamd.pool(configured: nil) } catch {
            throw ValidationError(error.message)
        }
        guard (1...1000).contains(topSignatures) else { throw ValidationError("--detections.top-signatures must be between 1 and 1000") }
        guard threads >= 1 else { throw ValidationError("--snapshot.threads must be at least 1") }
    }

    /// The pipeline layout from `--config`/`--root`/`--state-dir`/`--age-source`, read as check_virus_scan reads it.
    func layout() throws -> PipelineLayout {
        try location.layout(ageSource: ageSource)
    }
}
