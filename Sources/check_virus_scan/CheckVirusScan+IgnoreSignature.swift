import ArgumentParser
import ScanCore
import ScanCoreCLI

extension CheckVirusScan {
    /// `ignore-signature`: the false-positive fix (whitelist.ign2), with a verified RELOAD.
    struct IgnoreSignature: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ignore-signature",
            abstract: "Add a signature to (or remove it from) the ignore list, then reload clamd and verify.",
            discussion: """
                Edits \(IgnoreListFile.defaultName) in --database-dir atomically (no duplicates, every \
                other line kept; one run at a time, under \(IgnoreListFile.defaultName).lock beside it), asks clamd to RELOAD and checks it answers PING and VERSION again, and \
                logs the change and --reason to syslog (tag virus_scan). A name as a scan reports it \
                (….UNOFFICIAL) is stored as the database writes it.
                Exit codes: 0 done (or nothing to change) and clamd reloaded; 1 the list changed but \
                clamd's reload could not be verified; 2 invalid name or the list cannot be written; \
                64 bad arguments.
                """)

        @Argument(help: ArgumentHelp("The signature name to ignore.", valueName: "name"))
        var name: String?

        @Option(name: .long, help: ArgumentHelp("Remove this name from the ignore list instead.", valueName: "name"))
        var remove: String?

        @Flag(name: .long, help: "List the ignored signatures.")
        var list = false

        @Option(name: .long, help: ArgumentHelp("Why (logged to syslog with the change).", valueName: "text"))
        var reason: String?

        @Option(name: .long, help: ArgumentHelp("The signature database directory.", valueName: "dir"))
        var databaseDir: String = ClamdDefaults.databaseDirectory

        @OptionGroup var clamd: DaemonOptions

        @Flag(name: .long, help: "Do not ask clamd to reload.")
        var noReload = false

        func validate() throws {
            let actions = [name != nil, remove != nil, list].filter { $0 }.count
            if actions != 1 { throw ValidationError("give exactly one of NAME, --remove NAME or --list") }
        }

        mutating func run() throws {
            let path = databaseDir + "/" + IgnoreListFile.defaultName
            if list { try listEntries(path); return }
            // One editor at a time, from reading the list to clamd's verified reload: concurrent
            // runs each keep their entry and each see it loaded.
            let lock: QueueLock
            do { lock = try QueueLock.acquire(IgnoreListFile.lockPath(for: path), waiting: 300) } catch {
                standardError("ignore-signature: \(error.message)")
                throw ExitCode(RemediationExit.failed)
            }
            defer { lock.release() }
            try edit(path)
        }

        func listEntries(_ path: String) throws {
            let entries = try IgnoreListFile.read(path).entries
            print("\(path): \(entries.count) ignored signature\(entries.count == 1 ? "" : "s")")
            for entry in entries { print("  \(entry.signature)\(entry.md5.map { ":" + $0 } ?? "")") }
        }

        func edit(_ path: String) throws {
            let change: IgnoreListFile.Change
            do {
                if let name { try IgnoreList.validate(signatureName: IgnoreList.databaseName(forReported: name)) }
                change = try IgnoreListFile.edit(path, adding: name, removing: remove)
            } catch {
                standardError("ignore-signature: \(error)")
                throw ExitCode(RemediationExit.failed)
            }
            let target = IgnoreList.databaseName(forReported: name ?? remove ?? "")
            let verb = name != nil ? "added" : "removed"
            if !change.changed {
                print("\(target) \(name != nil ? "is already" : "is not") in \(path): nothing to change")
            } else {
                print("\(verb) \(target) \(name != nil ? "to" : "from") \(path) (\(change.entries.count) entries)")
                Syslog.send(.notice, "ignore-signature: \(verb) \(target) \(name != nil ? "to" : "from") \(path); reason: \(reason ?? "none given")")
            }
            if noReload || !change.changed { return }
            let client = try clamd.client()
            let reload = IgnoreListFile.reload(client)
            print(reload.detail)
            if !reload.ok {
                Syslog.send(.error, "ignore-signature: \(reload.detail)")
                throw ExitCode(RemediationExit.attention)
            }
            // Verified: the list clamd just reloaded still says what this run wrote.
            let now = (try? IgnoreListFile.read(path).signatures) ?? []
            if now.contains(target) != (name != nil) {
                standardError("ignore-signature: \(path) no longer \(name != nil ? "holds" : "lacks") \(target) after the reload: another editor changed it")
                throw ExitCode(RemediationExit.attention)
            }
        }
    }
}
