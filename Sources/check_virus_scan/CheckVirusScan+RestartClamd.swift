import ArgumentParser
import ScanCore
import ScanCoreCLI

extension CheckVirusScan {
    /// `restart-clamd`: runs the restart command, waits for PONG, reports the loaded version.
    struct RestartClamd: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "restart-clamd",
            abstract: "Restart clamd and wait until it answers PING again.",
            discussion: """
                Default command: systemctl restart clamav-daemon, or service clamav-daemon restart where \
                systemd is not running. With --dry-run the plan is printed and nothing is run.
                Exit codes: 0 clamd is back; 1 clamd is back but the command reported failure; \
                2 clamd did not answer PING before the deadline (or the command could not start); 64 bad arguments.
                """)

        @OptionGroup var clamd: DaemonOptions

        @Option(name: .long, help: ArgumentHelp("The restart command (run by /bin/sh -c).", valueName: "command"))
        var command: String?

        @Option(name: .long, help: ArgumentHelp("How long to wait for PONG.", valueName: "seconds"))
        var deadline: String = "120"

        @Flag(name: .long, help: "Print the plan; run nothing.")
        var dryRun = false

        mutating func run() throws {
            let plan = [command.map(ClamdRestart.shellCommand) ?? ClamdRestart.defaultCommand()]
            let wait = try parseSeconds(deadline, option: "--deadline")
            let client = try clamd.client()
            print("plan:")
            for step in plan { print("  \(step)    # \(step.effect)") }
            print("  wait up to \(formatSeconds(wait)) for PONG from \(client.endpoint)")
            if dryRun { return }
            var commandFailed = false
            for step in plan {
                let outcome: PlannedCommand.Outcome
                do { outcome = try step.run() } catch {
                    standardError("restart-clamd: \(error)")
                    throw ExitCode(RemediationExit.failed)
                }
                let output = outcome.output.trimmingCharacters(in: .whitespacesAndNewlines)
                if !output.isEmpty { print(output.split(separator: "\n").map { "  | " + $0 }.joined(separator: "\n")) }
                if outcome.succeeded {
                    print("\(step): exit 0 after \(formatSeconds(outcome.seconds))")
                } else {
                    commandFailed = true
                    print("\(step): \(outcome.signal.map { "killed by signal \($0)" } ?? "exit \(outcome.exitStatus)") after \(formatSeconds(outcome.seconds))")
                }
            }
            let result = ClamdRestart.waitForPong(client, deadline: wait)
            guard let seconds = result.secondsToPong else {
                print("clamd did not answer PING within \(formatSeconds(wait)) (last error: \(result.lastError ?? "none"))")
                Syslog.send(.error, "restart-clamd: clamd not back within \(Int(wait)) s")
                throw ExitCode(RemediationExit.failed)
            }
            print("clamd is back: PONG after \(formatSeconds(seconds))")
            if let version = result.version {
                print("loaded: \(version.raw)")
                Syslog.send(.notice, "restart-clamd: clamd back after \(Int(seconds)) s, \(version.raw)")
            }
            if commandFailed { throw ExitCode(RemediationExit.attention) }
        }
    }
}

import Foundation
