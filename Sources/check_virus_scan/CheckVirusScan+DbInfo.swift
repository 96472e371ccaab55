import ArgumentParser
import ScanCore

extension CheckVirusScan {
    /// `db-info`: the databases as `sigtool --info` shows them, the ignore list, and clamd's
    /// loaded version.
    struct DbInfo: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "db-info",
            abstract: "Show every signature database (like sigtool --info), the ignore list, and clamd's loaded version.",
            discussion: """
                Exit codes: 0 read (clamd, if reachable, has the versions on disk loaded); 1 clamd has \
                other versions loaded than the disk holds (RELOAD or restart-clamd); 2 the directory \
                cannot be read; 64 bad arguments.
                """)

        @Option(name: .long, help: ArgumentHelp("The signature database directory.", valueName: "dir"))
        var databaseDir: String = ClamdDefaults.databaseDirectory

        @OptionGroup var clamd: DaemonOptions

        @Flag(name: .long, help: "Do not ask clamd.")
        var noClamd = false

        mutating func run() throws {
            let inventory: SignatureDatabaseInventory
            do { inventory = try SignatureDatabaseInventory.read(directory: databaseDir) } catch {
                standardError("db-info: \(error)")
                throw ExitCode(RemediationExit.failed)
            }
            let now = WallClock.now()
            print("Database directory: \(databaseDir)")
            for container in inventory.containers.sorted(by: { $0.fileName < $1.fileName }) {
                let header = container.header
                var built = header.buildTime
                if let stamp = header.buildTimestamp {
                    built += " (age \(DurationText.format(max(0, now - Double(stamp)))))"
                }
                print("""

                    \(container.fileName)
                      File: \(container.path)
                      Build time: \(built)
                      Version: \(header.version)
                      Signatures: \(header.signatureCount)
                      Functionality level: \(header.functionalityLevel)
                      Builder: \(header.builder)
                    """)
            }
            if !inventory.plainDatabases.isEmpty {
                print("\nPlain databases:")
                for database in inventory.plainDatabases.sorted(by: { $0.fileName < $1.fileName }) {
                    print("  \(database.fileName): \(database.signatureCount) \(SignatureDatabaseInventory.nonDetectingFormats.contains(database.format) ? "entries" : "signatures")")
                }
            }
            print("\nTotal signatures: \(inventory.totalSignatures)")
            let ignored = inventory.ignoredSignatures
            print("Ignored signatures: \(ignored.isEmpty ? "none" : "")")
            for item in ignored { print("  \(item.entry.signature)\(item.entry.md5.map { ":" + $0 } ?? "") (\(item.fileName))") }
            for problem in inventory.problems { print("Problem: \(problem)") }
            if noClamd { return }
            let client = try clamd.client()
            guard let version = try? client.version() else {
                print("clamd at \(client.endpoint): not reachable")
                return
            }
            print("clamd loaded: \(version.raw)")
            let disk = inventory.versions
            if let loaded = version.databaseVersion, let onDisk = disk.daily, loaded != onDisk {
                print("!!! clamd has daily \(loaded) loaded but daily \(onDisk) is on disk: reload it (restart-clamd, or clamdscan --reload)")
                throw ExitCode(RemediationExit.attention)
            }
        }
    }
}
