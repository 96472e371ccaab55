import ArgumentParser
import ScanCore
import ScanCoreCLI

extension CheckVirusScan {
    /// `scan PATH…`: clamdscan-style scanning of files and trees with either engine.
    struct Scan: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "scan",
            abstract: "Scan files or trees like clamdscan: PATH: OK, PATH: NAME FOUND, PATH: … ERROR, then a summary.",
            discussion: """
                Directories are walked without following symlinks; FIFOs, sockets and devices are not read. \
                Nothing is moved. Exit codes (as clamscan): 0 no virus found, 1 a virus was found, \
                2 errors only (some file could not be scanned, or no engine); 64 bad arguments.
                """)

        @OptionGroup var engineOptions: EngineOptions

        @Flag(name: .long, help: "Print only infected files and errors (clamdscan --infected).")
        var infected = false

        @Flag(name: .long, help: "No summary.")
        var noSummary = false

        @Argument(help: ArgumentHelp("Files or directories.", valueName: "path"))
        var paths: [String]

        mutating func run() throws {
            let scanner: any FileScanner
            do { scanner = try engineOptions.makeScanner(verbose: false) } catch {
                standardError("scan: \(error)")
                throw ExitCode(RemediationExit.failed)
            }
            let started = MonotonicClock.now()
            let results = PathScan.run(paths, scanner: scanner, jobs: engineOptions.jobCount)
            var found = 0, errors = 0
            for result in results {
                switch result.verdict {
                case .clean: if !infected { print(PathScan.line(result)) }
                case .infected: found += 1; print(PathScan.line(result))
                case .error: errors += 1; print(PathScan.line(result))
                }
            }
            if !noSummary {
                let seconds = MonotonicClock.now() - started
                print("""

                    ----------- SCAN SUMMARY -----------
                    Engine: \(scanner.summary)
                    Scanned files: \(results.count - errors)
                    Infected files: \(found)
                    Total errors: \(errors)
                    Time: \((seconds * 1000).rounded() / 1000) sec
                    """)
            }
            if found > 0 { throw ExitCode(RemediationExit.attention) }
            if errors > 0 { throw ExitCode(RemediationExit.failed) }
        }
    }
}
