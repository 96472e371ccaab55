import ArgumentParser
import ScanCore

// The option groups check_virus_scan and virus_scan_exporter share, defined once: the same words
// mean the same thing in both executables (the defaults are ScanCore's `Defaults` and
// `PipelineLayout`'s).

/// Where the pipeline is: `--root`, `--config`, `--state-dir`, `--queue`.
public struct LayoutOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Root of the pipeline tree (default \(PipelineLayout.defaultRoot)).", valueName: "dir"))
    public var root: String?

    @Option(name: .long, help: ArgumentHelp("YAML configuration file naming the queues and trees (default \(PipelineLayout.defaultConfigFile) when it exists and --root is not given).", valueName: "file"))
    public var config: String?

    @Option(name: .long, help: ArgumentHelp("Where the scan journal and the rescan state are kept (default \(PipelineLayout.defaultStateDirectory)).", valueName: "dir"))
    public var stateDir: String?

    @Option(name: .customLong("queue"), help: ArgumentHelp("A queue to work on; repeat for several (default: every queue of the layout, incoming and draft-incoming).", valueName: "name"))
    public var queues: [String] = []

    public init() {}

    /// The layout file in use: `--config`, else the default file when it exists and `--root` is not given.
    public var configFile: String? { PipelineLayout.configFile(given: config, root: root) }

    /// The pipeline layout from `--config`/`--root`/`--state-dir`, with `ageSource` when given.
    public func layout(ageSource: AgeSource? = nil) throws -> PipelineLayout {
        var layout = try PipelineLayout.load(configFile: configFile, root: root, stateDirectory: stateDir)
        if let ageSource { layout.ageSource = ageSource }
        return layout
    }

    /// The options a printed command repeats so that it acts on this pipeline (`--config FILE`,
    /// `--root DIR`, `--state-dir DIR`, as given).
    public var commandOptions: [String] {
        var words: [String] = []
        if let config { words += ["--config", config] }
        if let root { words += ["--root", root] }
        if let stateDir { words += ["--state-dir", stateDir] }
        return words
    }
}

/// `--age-source`: where a file's "placed on disk" time comes from.
public struct AgeSourceOption: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Where a file's \"placed on disk\" time comes from: mtime or btime (default: the layout file's, else mtime).", valueName: "source"))
    public var ageSource: AgeSource?

    public init() {}
}

/// `--socket` and `--tcp`, each repeatable: the clamd daemons, one or a pool.
public struct ClamdPoolOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("clamd's Unix socket (default: the layout file's clamd.endpoints, else \(Defaults.clamdSocket)); repeat, and mix with --tcp, for a pool of daemons. A command that talks to one daemon takes one.", valueName: "path"))
    public var socket: [String] = []

    @Option(name: .long, help: ArgumentHelp("A clamd TCP address; repeat, and mix with --socket, for a pool (sockets are listed first). Endpoints given on the command line replace the layout file's list.", valueName: "host:port"))
    public var tcp: [String] = []

    public init() {}

    /// The daemons: `--socket`/`--tcp` (sockets first), else `configured` (the layout file's
    /// `clamd.endpoints`), else the default socket (``ClamdPool/resolve(sockets:tcp:configured:defaultSocket:)``).
    public func pool(configured: [ClamdEndpoint]?) throws(ClamdError) -> ClamdPool {
        try ClamdPool.resolve(sockets: socket, tcp: tcp, configured: configured, defaultSocket: Defaults.clamdSocket)
    }

    /// Whether any endpoint was given on the command line.
    public var isGiven: Bool { !socket.isEmpty || !tcp.isEmpty }

    /// The option naming the first endpoint given (`--socket PATH`, else `--tcp HOST:PORT`), for
    /// the single-daemon commands a runbook line prints; nil when none was given.
    public var firstEndpointOptions: [String]? {
        if let first = socket.first { return ["--socket", first] }
        if let first = tcp.first { return ["--tcp", first] }
        return nil
    }
}

/// `--database-dir`: the signature database directory.
public struct DatabaseDirectoryOption: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The signature database directory.", valueName: "dir"))
    public var databaseDir: String = Defaults.databaseDirectory

    public init() {}

    /// `--database-dir DIR` when it is not the default (for printed commands).
    public var commandOptions: [String] {
        databaseDir == Defaults.databaseDirectory ? [] : ["--database-dir", databaseDir]
    }
}

extension AgeSource: ExpressibleByArgument {}
extension EngineChoice: ExpressibleByArgument {}
