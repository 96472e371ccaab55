import ArgumentParser
import ScanCore
import ScanCoreCLI

#if canImport(Glibc)
import Glibc
#endif

/// `check_virus_scan MODE [options]`: the Nagios/Icinga plugin for the virus-scan pipeline, and the
/// home of its remediation commands.
///
/// A command is registered by appending its type to `modes` (a monitoring mode, a `CheckMode`, in
/// `CheckVirusScan+Modes.swift`) or to `remediation` (anything else, which keeps ArgumentParser's
/// own error handling and exit codes). A monitoring mode is three files: its evaluator and probe
/// in ScanCore (`Check/Modes/`), its options here (`CheckVirusScan+NAME.swift`), and its line in
/// `CheckVirusScan+Modes.swift` (with its ranges and probe in `all` when it belongs there);
/// ARCHITECTURE.md, "Adding a check mode".
@main
struct CheckVirusScan: ParsableCommand {
    /// Remediation commands: human output, their own exit codes.
    static var remediation: [any ParsableCommand.Type] {
        [RescanClean.self, Drain.self, Scan.self, DbInfo.self, ClamdStatus.self, RestartClamd.self, IgnoreSignature.self]
    }

    static var configuration: CommandConfiguration {
        CommandConfiguration(
            commandName: "check_virus_scan",
            abstract: "Monitoring plugin for the virus-scan pipeline (Nagios/Icinga plugin API).",
            discussion: """
                The MODE comes first: check_virus_scan backlog -w 10 -c 20.
                Exit codes: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (also for --help, -V, bad arguments \
                and the plugin's own timeout). RANGE is Monitoring Plugins range syntax (10, 10:, ~:10, \
                10:20, @10:20); where seconds are expected a suffix s, m, h or d is accepted.
                Show a mode's options with: check_virus_scan MODE --help
                """,
            subcommands: modes.map { $0 as any ParsableCommand.Type } + remediation)
    }

    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if let first = arguments.first, remediation.contains(where: { $0._commandName == first }) || isToolingRequest(first) {
            // Remediation commands keep ArgumentParser's behaviour (stderr, usage exit codes), and so
            // do the shell-completion and manual-page requests of the packaging.
            do {
                var command = try parseAsRoot(arguments)
                try command.run()
                Glibc.exit(0)
            } catch {
                exit(withError: error)
            }
        }
        let output = pluginOutput(arguments)
        output.write()
        Glibc.exit(output.exitCode)
    }

    /// ArgumentParser's own requests, answered by it (exit 0): completion scripts for bash/zsh/fish
    /// and the help dump swift-argument-parser's `generate-manual` plugin turns into the man page.
    static func isToolingRequest(_ argument: String) -> Bool {
        ["--generate-completion-script", "--experimental-dump-help"].contains { argument == $0 || argument.hasPrefix($0 + "=") }
    }

    /// The plugin's answer for `arguments` (argv without the program name).
    static func pluginOutput(_ arguments: [String]) -> PluginOutput {
        let modeNames = modes.map { $0._commandName }
        let options = arguments.prefix { $0 != "--" }
        if options.contains("-V") || options.contains("--version") {
            return PluginOutput(text: "check_virus_scan \(ScanCoreVersion.string)\n", exitCode: ServiceState.unknown.exitCode)
        }
        let wantsHelp = options.contains("-h") || options.contains("--help") || options.first == "help"
        if !wantsHelp {
            guard let first = arguments.first else {
                return .unknown("no mode given: use check_virus_scan MODE [options], MODE one of \(modeNames.joined(separator: ", "))")
            }
            if !modeNames.contains(first) {
                if first.hasPrefix("-") {
                    return .unknown("the mode must come first: check_virus_scan MODE [options], MODE one of \(modeNames.joined(separator: ", "))")
                }
                return .unknown("unknown mode '\(first)': use one of \(modeNames.joined(separator: ", "))")
            }
        }
        do {
            var command = try parseAsRoot(arguments)
            guard let mode = command as? any CheckMode else {
                // ArgumentParser's help command: its run() throws the help request.
                try command.run()
                return PluginOutput(text: helpMessage() + "\n", exitCode: ServiceState.unknown.exitCode)
            }
            return mode.runAsPlugin()
        } catch {
            if exitCode(for: error) == .success {
                // --help: the full help text, exit 3 as the guidelines ask.
                return PluginOutput(text: fullMessage(for: error) + "\n", exitCode: ServiceState.unknown.exitCode)
            }
            let mode = arguments.first ?? ""
            return .unknown("\(message(for: error)) (see check_virus_scan \(mode) --help)")
        }
    }
}
