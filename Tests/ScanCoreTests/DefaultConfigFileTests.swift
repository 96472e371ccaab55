@testable import ScanCore
import ScanCoreTestSupport
import Testing

/// Which layout file a command reads: `--config`, else (without `--root`) the installed
/// `/etc/virus-scan.yml` or `VIRUS_SCAN_CONFIG` when it exists, else none.
@Suite("Default config file")
struct DefaultConfigFileTests {
    /// A fake environment and filesystem.
    func lookup(given: String? = nil, root: String? = nil, variable: String? = nil, existing: Set<String>) -> String? {
        PipelineLayout.configFile(
            given: given, root: root,
            environment: { $0 == "VIRUS_SCAN_CONFIG" ? variable : nil },
            exists: { existing.contains($0) })
    }

    @Test func installedFileIsReadWhenPresent() {
        #expect(PipelineLayout.defaultConfigFile == "/etc/virus-scan.yml")
        #expect(lookup(existing: ["/etc/virus-scan.yml"]) == "/etc/virus-scan.yml")
        #expect(lookup(existing: []) == nil)
    }

    @Test func explicitConfigWinsEvenWhenMissing() {
        #expect(lookup(given: "/srv/vs.yml", existing: ["/etc/virus-scan.yml"]) == "/srv/vs.yml")
        #expect(lookup(given: "/srv/vs.yml", root: "/srv/up", existing: []) == "/srv/vs.yml")
    }

    @Test func explicitRootMeansTheStandardLayout() {
        #expect(lookup(root: "/srv/up", existing: ["/etc/virus-scan.yml"]) == nil)
        #expect(lookup(root: "/srv/up", variable: "/tmp/t.yml", existing: ["/tmp/t.yml"]) == nil)
    }

    @Test func environmentNamesAnotherFileOrNone() {
        #expect(lookup(variable: "/tmp/t.yml", existing: ["/tmp/t.yml", "/etc/virus-scan.yml"]) == "/tmp/t.yml")
        #expect(lookup(variable: "/tmp/missing.yml", existing: ["/etc/virus-scan.yml"]) == nil)
        #expect(lookup(variable: "", existing: ["/etc/virus-scan.yml", ""]) == nil)
    }

    @Test func realFilesystemAndEnvironment() throws {
        let tree = try TemporaryTree()
        let file = try tree.file("vs.yml", contents: Array("root: /x\n".utf8))
        #expect(PipelineLayout.configFile(given: nil, root: nil, environment: { _ in file }) == file)
        #expect(PipelineLayout.configFile(given: nil, root: nil, environment: { _ in tree.path("none.yml") }) == nil)
    }
}
