import ArgumentParser
import ScanCore
import ScanCoreCLI
import Foundation

extension CheckVirusScan {
    /// `clamd-status`: ping time, version and STATS in a readable table.
    struct ClamdStatus: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "clamd-status",
            abstract: "Show clamd's ping time, version and STATS.",
            discussion: "Exit codes: 0 clamd answers; 2 it does not (the reason is printed); 64 bad arguments.")

        @OptionGroup var clamd: DaemonOptions

        mutating func run() throws {
            let client: ClamdClient
            do { client = try clamd.client() } catch {
                standardError("clamd-status: \(error)")
                throw ExitCode(RemediationExit.failed)
            }
            print("clamd at \(client.endpoint)")
            let ping: Duration
            do { ping = try client.ping() } catch {
                print("  PING:      no answer: \(error.message)")
                throw ExitCode(RemediationExit.failed)
            }
            let seconds = Double(ping.components.seconds) + Double(ping.components.attoseconds) / 1e18
            print("  PING:      PONG in \(formatSeconds(seconds))")
            if let version = try? client.version() {
                print("  Version:   \(version.raw)")
            }
            guard let stats = try? client.stats() else {
                print("  STATS:     no answer")
                return
            }
            print(Self.table(stats))
        }

        static func table(_ stats: ClamdStats) -> String {
            func value<T>(_ v: T?) -> String { v.map { "\($0)" } ?? "?" }
            func mb(_ v: Double?) -> String { v.map { "\(($0 * 10).rounded() / 10) MiB" } ?? "?" }
            var rows: [(String, String)] = [
                ("State", value(stats.state)),
                ("Pools", value(stats.pools)),
                ("Threads", "live \(value(stats.threadsLive)), idle \(value(stats.threadsIdle)), max \(value(stats.threadsMax)), idle timeout \(value(stats.threadsIdleTimeout)) s"),
                ("Queue", "\(value(stats.queueItems)) items"),
                ("Memory", "heap \(mb(stats.memory.heap)), mmap \(mb(stats.memory.mmap)), used \(mb(stats.memory.used)), free \(mb(stats.memory.free)), releasable \(mb(stats.memory.releasable))"),
                ("Pools mem", "\(value(stats.memory.pools)) pools, used \(mb(stats.memory.poolsUsed)), total \(mb(stats.memory.poolsTotal))"),
            ]
            if stats.jobs.isEmpty {
                rows.append(("Jobs", "none"))
            } else {
                for job in stats.jobs { rows.append(("Job", "\(job.command)\(job.seconds.map { " (\($0) s)" } ?? "")")) }
            }
            return rows.map { "  " + ($0.0 + ":").padding(toLength: 11, withPad: " ", startingAt: 0) + $0.1 }.joined(separator: "\n")
        }
    }
}
