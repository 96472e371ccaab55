import Foundation
import ScanCoreTestSupport
import Testing

/// What the Debian package relies on: the layout file read by default (here through
/// `VIRUS_SCAN_CONFIG`, never the machine's /etc/virus-scan.yml), and ArgumentParser's completion
/// and help-dump requests getting through the plugin's own main().
@Suite("Packaging: default config, completions, manual")
struct PackagingCLITests {
    func environment(config: String) -> [String: String] {
        ProcessInfo.processInfo.environment.merging(["VIRUS_SCAN_CONFIG": config]) { $1 }
    }

    @Test func defaultConfigIsReadWithoutConfigOrRoot() throws {
        let tree = try PipelineTree(queues: ["mail"], outcomeTrees: false)
        try tree.file("mail/a.pdf")
        try tree.file("mail/b.pdf")
        let config = tree.root + "/virus-scan.yml"
        try "root: \(tree.root)\nqueues:\n  - name: mail\n".write(toFile: config, atomically: true, encoding: .utf8)
        let run = try Plugin.run(["backlog", "--state-dir", tree.root + "/state", "--now", String(Int(tree.now))],
                                 environment: environment(config: config))
        #expect(run.exitCode == 0, "\(run)")
        #expect(run.statusLine.hasPrefix("VIRUS_SCAN OK - 2 files queued"), "\(run)")
        #expect(run.perf("mail_files")?.value == 2, "\(run)")

        // --root: the standard layout under it (no mail queue), the file is not read.
        let moved = try Plugin.run(tree.args("backlog"), environment: environment(config: config))
        #expect(moved.perf("mail_files") == nil, "\(moved)")
        #expect(moved.exitCode == 2, "\(moved)")
        #expect(moved.statusLine.contains("queue directory \(tree.root)/incoming does not exist"), "\(moved)")

        // An unreadable default is an error, not a silent fallback.
        try "queues: []\n".write(toFile: config, atomically: true, encoding: .utf8)
        let bad = try Plugin.run(["backlog", "--now", String(Int(tree.now))], environment: environment(config: config))
        #expect(bad.exitCode == 3, "\(bad)")
        #expect(bad.statusLine.contains("invalid config file \(config): queues is empty"), "\(bad)")
    }

    @Test(arguments: [("bash", "_check_virus_scan"), ("zsh", "#compdef check_virus_scan"), ("fish", "complete -c 'check_virus_scan'")])
    func completionScript(_ shell: String, _ marker: String) throws {
        let run = try Plugin.run(["--generate-completion-script", shell])
        #expect(run.exitCode == 0, "\(run.stderr)")
        #expect(run.stdout.contains(marker), "\(run.stdout.prefix(300))")
        #expect(run.stdout.contains("drain") && run.stdout.contains("backlog"))
        let joined = try Plugin.run(["--generate-completion-script=\(shell)"])
        #expect(joined.stdout == run.stdout)
    }

    @Test func helpDumpForTheManualGenerator() throws {
        let run = try Plugin.run(["--experimental-dump-help"])
        #expect(run.exitCode == 0, "\(run.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let command = try #require(json["command"] as? [String: Any])
        #expect(command["commandName"] as? String == "check_virus_scan")
        let names = (command["subcommands"] as? [[String: Any]] ?? []).compactMap { $0["commandName"] as? String }
        #expect(names.contains("backlog") && names.contains("drain") && names.contains("rescan-clean"), "\(names)")
    }
}
