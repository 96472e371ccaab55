import ArgumentParser
import ScanCore
import ScanCoreCLI

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
                cannot be read; 3 (--signature) no database file names the signature; 64 bad arguments.
                With --signature NAME: only which database file holds NAME (a plain .ndb/.hdb/.ldb/.ign2/… \
                in the directory, or a member of main/daily/… .cvd/.cld, unpacked by libclamav) and that \
                file's build time (its CVD header; a plain file has only its modification time): the \
                question to answer before ignore-signature. A name as a scan reports it (….UNOFFICIAL) is \
                looked up as the database writes it.
                """)

        @Option(name: .long, help: ArgumentHelp("The signature database directory.", valueName: "dir"))
        var databaseDir: String = ClamdDefaults.databaseDirectory

        @OptionGroup var clamd: DaemonOptions

        @Flag(name: .long, help: "Do not ask clamd.")
        var noClamd = false

        @Option(name: .long, help: ArgumentHelp("Only say which database file holds this signature, and its build time.", valueName: "name"))
        var signature: String?

        mutating func run() throws {
            if let signature { try locate(signature); return }
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

        func locate(_ name: String) throws {
            let found: [SignatureLocator.Location]
            do { found = try SignatureLocator.find(name, directory: databaseDir) } catch {
                standardError("db-info: \(error)")
                throw ExitCode(RemediationExit.failed)
            }
            guard !found.isEmpty else {
                standardError("db-info: no database file in \(databaseDir) names the signature \(SignatureLocator.writtenName(name)) (containers unpacked and every plain database read)")
                throw ExitCode(3)
            }
            let now = WallClock.now()
            print("Signature \(SignatureLocator.writtenName(name)) in \(databaseDir):")
            for location in found {
                var where_ = "\(location.fileName)"
                if let member = location.member { where_ += " (member \(member))" }
                if location.isIgnoreEntry { where_ += ": an ignore-list entry (the name is ignored there, not detected)" }
                print("  \(where_)")
                print("    File: \(location.path)")
                if let header = location.header {
                    var built = header.buildTime
                    if let stamp = header.buildTimestamp { built += " (age \(DurationText.format(max(0, now - Double(stamp)))))" }
                    print("    Build time: \(built)")
                    print("    Version: \(header.version)")
                } else {
                    print("    Build time: none (a plain database has no header); modified \(DurationText.format(max(0, now - location.modified))) ago")
                }
                print("    Line: \(location.line)")
            }
        }
    }
}
