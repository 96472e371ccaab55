@testable import ScanCore
import ScanCoreTestSupport
import Testing

@Suite("Pipeline layout and config")
struct PipelineLayoutTests {
    @Test("the standard layout under the default and a moved root")
    func standard() throws {
        let layout = PipelineLayout.standard()
        #expect(layout.root == "/mnt/uploads/whitehall")
        #expect(layout.queues.map(\.name) == ["incoming", "draft-incoming"])
        let draft = try layout.queue(named: "draft-incoming")
        #expect(draft.incoming == "/mnt/uploads/whitehall/draft-incoming")
        #expect(draft.clean == "/mnt/uploads/whitehall/draft-clean")
        #expect(draft.infected == "/mnt/uploads/whitehall/draft-infected")
        #expect(draft.lock == "/var/run/virus_scan/incoming-draft.lock")
        #expect(try layout.queue(named: "incoming").lock == "/var/run/virus_scan/incoming.lock")
        #expect(layout.temp == "/mnt/uploads/whitehall/temp")
        #expect(layout.journalPath == "/var/lib/virus_scan/journal.jsonl")
        let moved = try PipelineLayout.load(configFile: nil, root: "/srv/up", stateDirectory: "/tmp/st")
        #expect(try moved.queue(named: "incoming").clean == "/srv/up/clean")
        #expect(moved.journalPath == "/tmp/st/journal.jsonl")
    }

    @Test("a config file describes other queues; relative paths are under root")
    func configFile() throws {
        let tree = try TemporaryTree()
        let config = try tree.file("virus-scan.yml", contents: Array("""
            root: /data/uploads
            state_dir: /var/lib/vs
            list_dir: lists
            age_source: btime
            queues:
              - name: mail
                incoming: mail/in
                clean: mail/ok
                infected: /quarantine/mail
                lock: /run/vs/mail.lock
              - name: draft-docs
            """.utf8))
        let layout = try PipelineLayout.load(configFile: config, root: nil)
        #expect(layout.root == "/data/uploads")
        #expect(layout.ageSource == .btime)
        #expect(layout.stateDirectory == "/var/lib/vs")
        #expect(layout.listDirectory == "/data/uploads/lists")
        #expect(layout.queues == [
            QueueDefinition(name: "mail", incoming: "/data/uploads/mail/in", clean: "/data/uploads/mail/ok",
                            infected: "/quarantine/mail", lock: "/run/vs/mail.lock"),
            QueueDefinition(name: "draft-docs", incoming: "/data/uploads/draft-docs", clean: "/data/uploads/draft-clean",
                            infected: "/data/uploads/draft-infected", lock: "/var/run/virus_scan/draft-docs.lock"),
        ])
        // --root moves a config's relative paths too.
        let moved = try PipelineLayout.load(configFile: config, root: "/elsewhere")
        #expect(try moved.queue(named: "mail").incoming == "/elsewhere/mail/in")
        #expect(try moved.queue(named: "mail").infected == "/quarantine/mail")
    }

    @Test("bad configs are clear errors", arguments: [
        ("queues: [", "invalid config file cfg: "),
        ("queues: []", "invalid config file cfg: queues is empty"),
        ("queues:\n  - name: a\n  - name: a", "invalid config file cfg: queue 'a' is defined twice"),
        ("queues:\n  - name: 'a b'", "invalid config file cfg: queue name 'a b' must be letters, digits, - or _"),
        ("root: relative/path", "invalid config file cfg: root must be an absolute path, got relative/path"),
        ("age_source: ctime", "invalid config file cfg: age_source: "),
    ])
    func badConfig(text: String, messagePrefix: String) throws {
        let error = #expect(throws: PipelineError.self) { try PipelineLayout.parse(config: text, source: "cfg") }
        #expect(error?.code == .invalidConfig)
        #expect(error?.message.hasPrefix(messagePrefix) == true, "\(error?.message ?? "")")
    }

    @Test("a missing config file and an unknown queue name are clear errors")
    func missingFileAndQueue() throws {
        let missing = #expect(throws: PipelineError.self) { try PipelineLayout.load(configFile: "/nonexistent/vs.yml", root: nil) }
        #expect(missing?.message == "cannot read config file /nonexistent/vs.yml: No such file or directory (errno 2)")
        let unknown = #expect(throws: PipelineError.self) { try PipelineLayout.standard().queues(named: ["incoming", "outgoing"]) }
        #expect(unknown?.code == .unknownQueue)
        #expect(unknown?.message == "unknown queue 'outgoing' (this layout has: incoming, draft-incoming)")
    }
}

@Suite("Path escaping")
struct PathEscapingTests {
    @Test("printable text is kept; control bytes, invalid UTF-8 and backslashes are escaped", arguments: [
        (Array("plain/file name.pdf".utf8), "plain/file name.pdf"),
        (Array("new\nline\ttab\rcr".utf8), "new\\nline\\ttab\\rcr"),
        (Array("back\\slash".utf8), "back\\\\slash"),
        ([0x61, 0xFF, 0x62], "a\\xffb"),
        ([0xC3, 0xA9], "é"),
        ([0xC3], "\\xc3"),
        ([0xE2, 0x82], "\\xe2\\x82"),
        ([0x01, 0x7F], "\\x01\\x7f"),
        (Array("\u{202E}rtl".utf8), "\\xe2\\x80\\xaertl"),
        ([0xED, 0xA0, 0x80], "\\xed\\xa0\\x80"),
    ] as [([UInt8], String)])
    func escaping(bytes: [UInt8], expected: String) {
        #expect(PathEscaping.display(bytes) == expected)
    }
}
