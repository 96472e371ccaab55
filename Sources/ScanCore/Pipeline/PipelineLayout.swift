#if canImport(Glibc)
import Glibc
#endif
import Yams

/// One queue of the pipeline: where uploads wait and where the scanner moves them.
public struct QueueDefinition: Sendable, Hashable {
    /// The queue's name as commands and metrics use it (`incoming`, `draft-incoming`).
    public var name: String
    /// Absolute path of the directory files wait in.
    public var incoming: String
    /// Absolute path of the tree clean files are moved to.
    public var clean: String
    /// Absolute path of the tree infected files are moved to.
    public var infected: String
    /// The lock file the scanner (and `drain`) hold while processing this queue.
    public var lock: String

    public init(name: String, incoming: String, clean: String, infected: String, lock: String) {
        self.name = name
        self.incoming = incoming
        self.clean = clean
        self.infected = infected
        self.lock = lock
    }

    /// The tree for an outcome.
    public func path(for outcome: Outcome) -> String {
        switch outcome {
        case .clean: clean
        case .infected: infected
        }
    }
}

/// Where a processed file ends up.
public enum Outcome: String, Sendable, CaseIterable, Codable {
    case clean, infected
}

/// The whole pipeline on disk: its queues, where commands keep state, and how ages are read.
///
/// Every command of the project builds its layout with `load(configFile:root:stateDirectory:)`, so
/// `--root`, `--config` and `--state-dir` mean the same everywhere.
public struct PipelineLayout: Sendable, Hashable {
    /// The asset master this tool was designed for.
    public static let defaultRoot = "/mnt/uploads/whitehall"
    /// Where commands keep their own state (the scan journal, the rescan state) by default.
    public static let defaultStateDirectory = "/var/lib/virus_scan"
    /// Where `drain` writes lists of newly clean files for the copy-to-slaves job, as the original did.
    public static let defaultListDirectory = "/tmp/attachments"

    public var root: String
    public var queues: [QueueDefinition]
    public var stateDirectory: String
    public var listDirectory: String
    public var ageSource: AgeSource
    /// The temp directory used by the manual clear-queue procedure.
    public var temp: String
    /// The layout file's `thresholds:` section (nil when it has none): what the check uses for a
    /// mode whose ranges are not given on the command line, and what the status page judges by.
    public var thresholds: PipelineThresholds?
    /// The layout file's `clamd: {endpoints: [...]}` (nil when it has none): the daemons the clamd
    /// modes and the exporter watch when no `--socket`/`--tcp` is given (``ClamdPool``).
    public var clamdEndpoints: [ClamdEndpoint]?
    /// The trees (``LayoutValidation/Tree/label``) the config wrote as absolute paths: only these
    /// may resolve outside the root.
    var writtenAbsolute: [String: Bool] = [:]

    /// The scan journal: one JSON record per processed file, appended by `drain` and `rescan-clean`.
    public var journalPath: String { stateDirectory + "/journal.jsonl" }
    /// The rescan state file that `rescan-clean` keeps up to date.
    public var rescanStatePath: String { stateDirectory + "/rescan-state.json" }

    public init(root: String, queues: [QueueDefinition], stateDirectory: String = defaultStateDirectory,
                listDirectory: String = defaultListDirectory, ageSource: AgeSource = .mtime, temp: String? = nil) {
        self.root = root
        self.queues = queues
        self.stateDirectory = stateDirectory
        self.listDirectory = listDirectory
        self.ageSource = ageSource
        self.temp = temp ?? Self.join(root, "temp")
    }

    /// The default layout under `root`: `incoming` → `clean`/`infected`, `draft-incoming` →
    /// `draft-clean`/`draft-infected`, locks in `/var/run/virus_scan` as the legacy cron uses.
    public static func standard(root: String = defaultRoot) -> PipelineLayout {
        PipelineLayout(root: root, queues: [
            QueueDefinition(name: "incoming", incoming: join(root, "incoming"), clean: join(root, "clean"),
                            infected: join(root, "infected"), lock: "/var/run/virus_scan/incoming.lock"),
            QueueDefinition(name: "draft-incoming", incoming: join(root, "draft-incoming"),
                            clean: join(root, "draft-clean"), infected: join(root, "draft-infected"),
                            lock: "/var/run/virus_scan/incoming-draft.lock"),
        ])
    }

    /// The layout file a package installs (`/etc/virus-scan.yml`), read by every command when it
    /// exists and neither `--config` nor `--root` is given.
    public static let defaultConfigFile = "/etc/virus-scan.yml"
    /// Names another default layout file (empty: none), e.g. `VIRUS_SCAN_CONFIG= swift test`.
    public static let configFileEnvironmentVariable = "VIRUS_SCAN_CONFIG"

    /// The config file a command reads: `given` (`--config`) when there is one; else, unless `root`
    /// (`--root`) is given, the default layout file (`VIRUS_SCAN_CONFIG` or `/etc/virus-scan.yml`)
    /// if it exists; else none (the standard layout, moved by `root`).
    public static func configFile(given: String?, root: String?,
                                  environment: (String) -> String? = { getenv($0).map { String(cString: $0) } },
                                  exists: (String) -> Bool = { Sys.access($0, F_OK) }) -> String? {
        if let given { return given }
        guard root == nil else { return nil }
        let path = environment(configFileEnvironmentVariable) ?? defaultConfigFile
        return !path.isEmpty && exists(path) ? path : nil
    }

    /// The layout every command uses: the config file if given (else the standard layout), with
    /// `root` moving it and `stateDirectory` overriding where state is kept.
    public static func load(configFile: String?, root: String?, stateDirectory: String? = nil) throws(PipelineError) -> PipelineLayout {
        var layout: PipelineLayout
        if let configFile {
            let text: String
            do { text = try readTextFile(configFile) } catch {
                throw PipelineError(.invalidConfig, "cannot read config file \(configFile): \(error)", path: configFile, errno: error.rawValue)
            }
            layout = try parse(config: text, source: configFile, rootOverride: root)
        } else {
            layout = standard(root: root ?? defaultRoot)
        }
        if let stateDirectory { layout.stateDirectory = stateDirectory }
        if let problem = LayoutValidation.checkOnDisk(layout, absolute: layout.writtenAbsolute) {
            let prefix = configFile.map { "invalid config file \($0)" } ?? "invalid layout"
            throw PipelineError(.invalidConfig, "\(prefix): \(problem)", path: configFile)
        }
        return layout
    }

    /// Parses a YAML config (see `config/virus-scan.yml.example`). Relative paths are under `root`.
    public static func parse(config text: String, source: String = "config", rootOverride: String? = nil) throws(PipelineError) -> PipelineLayout {
        let file: ConfigFile
        do {
            file = try YAMLDecoder().decode(ConfigFile.self, from: text)
        } catch {
            throw PipelineError(.invalidConfig, "invalid config file \(source): \(describingDecoding(error))", path: source)
        }
        func invalid(_ problem: String) -> PipelineError {
            PipelineError(.invalidConfig, "invalid config file \(source): \(problem)", path: source)
        }
        if let problem = LayoutValidation.checkKeys(text) { throw invalid(problem) }
        var written: [(label: String, value: String?)] = [("root", file.root), ("state_dir", file.stateDir),
                                                          ("list_dir", file.listDir), ("temp", file.temp)]
        for queue in file.queues ?? [] {
            written += [("queues[\(queue.name)].incoming", queue.incoming), ("queues[\(queue.name)].clean", queue.clean),
                        ("queues[\(queue.name)].infected", queue.infected), ("queues[\(queue.name)].lock", queue.lock)]
        }
        for (label, value) in written {
            if let value, LayoutValidation.hasDotDot(value) {
                throw invalid("\(label): '\(value)' has a '..' component; write the path without it")
            }
        }
        let root = rootOverride ?? file.root ?? defaultRoot
        guard root.hasPrefix("/") else {
            throw PipelineError(.invalidConfig, "invalid config file \(source): root must be an absolute path, got \(root)", path: source)
        }
        var layout: PipelineLayout
        if let queues = file.queues {
            guard !queues.isEmpty else {
                throw PipelineError(.invalidConfig, "invalid config file \(source): queues is empty", path: source)
            }
            var seen = Set<String>()
            var definitions: [QueueDefinition] = []
            for queue in queues {
                guard !queue.name.isEmpty, queue.name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else {
                    throw PipelineError(.invalidConfig, "invalid config file \(source): queue name '\(queue.name)' must be letters, digits, - or _", path: source)
                }
                guard seen.insert(queue.name).inserted else {
                    throw PipelineError(.invalidConfig, "invalid config file \(source): queue '\(queue.name)' is defined twice", path: source)
                }
                let prefix = queue.name.hasPrefix("draft-") ? "draft-" : ""
                definitions.append(QueueDefinition(
                    name: queue.name,
                    incoming: join(root, queue.incoming ?? queue.name),
                    clean: join(root, queue.clean ?? prefix + "clean"),
                    infected: join(root, queue.infected ?? prefix + "infected"),
                    lock: join("/var/run/virus_scan", queue.lock ?? "\(queue.name).lock")))
            }
            layout = PipelineLayout(root: root, queues: definitions)
        } else {
            layout = standard(root: root)
        }
        if let state = file.stateDir { layout.stateDirectory = join(root, state) }
        if let list = file.listDir { layout.listDirectory = join(root, list) }
        if let temp = file.temp { layout.temp = join(root, temp) }
        if let source = file.ageSource { layout.ageSource = source }
        if let table = file.thresholds {
            do throws(CheckError) { layout.thresholds = try PipelineThresholds.parse(table) } catch { throw invalid(error.message) }
        }
        do throws(ClamdError) { layout.clamdEndpoints = try ClamdPool.configured(inConfig: text, source: source) } catch {
            throw PipelineError(.invalidConfig, "invalid config file \(error.message)", path: source)
        }
        for (label, value) in written where label.hasPrefix("queues[") {
            layout.writtenAbsolute[label] = value?.hasPrefix("/") ?? false
        }
        if let problem = LayoutValidation.checkLexically(layout, absolute: layout.writtenAbsolute) { throw invalid(problem) }
        return layout
    }

    /// The queues named (all of them when `names` is empty), in the order asked.
    public func queues(named names: [String]) throws(PipelineError) -> [QueueDefinition] {
        if names.isEmpty { return queues }
        var result: [QueueDefinition] = []
        for name in names { result.append(try queue(named: name)) }
        return result
    }

    public func queue(named name: String) throws(PipelineError) -> QueueDefinition {
        guard let queue = queues.first(where: { $0.name == name }) else {
            let known = queues.map(\.name).joined(separator: ", ")
            throw PipelineError(.unknownQueue, "unknown queue '\(name)' (this layout has: \(known))")
        }
        return queue
    }

    /// `base/path`, or `path` when it is absolute.
    static func join(_ base: String, _ path: String) -> String {
        if path.hasPrefix("/") { return path }
        if base.hasSuffix("/") { return base + path }
        return base + "/" + path
    }
}

/// The config file's known keys, for refusing unknown ones (``LayoutValidation/checkKeys(_:)``):
/// exactly the coding keys of ``ConfigFile`` and ``ConfigFile/Queue``. A new key is added to those
/// `CodingKeys` and nowhere else.
enum ConfigKeys {
    static let top: [String] = ConfigFile.CodingKeys.allCases.map(\.stringValue)
    static let queue: [String] = ConfigFile.Queue.CodingKeys.allCases.map(\.stringValue)
}

/// The YAML config file's shape.
private struct ConfigFile: Decodable {
    var root: String?
    var stateDir: String?
    var listDir: String?
    var temp: String?
    var ageSource: AgeSource?
    var queues: [Queue]?
    var thresholds: [String: [String: String]]?
    var clamd: ClamdConfigSection?

    struct Queue: Decodable {
        var name: String
        var incoming: String?
        var clean: String?
        var infected: String?
        var lock: String?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case name, incoming, clean, infected, lock
        }
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case root, temp, queues, thresholds, clamd
        case stateDir = "state_dir"
        case listDir = "list_dir"
        case ageSource = "age_source"
    }
}
