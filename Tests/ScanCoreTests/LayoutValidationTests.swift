import Glibc
@testable import ScanCore
import ScanCoreTestSupport
import Testing

/// Layout validation at load: hostile or mistaken layouts are refused with one
/// error naming the key, before any command touches a file. Outside-the-root cases always point
/// at a decoy directory the test made in its own temp dir.
@Suite("Layout validation")
struct LayoutValidationTests {
    static let prefix = "invalid config file cfg: "

    @Test("lexical: trees that are the same, nested, or written with '..' are refused, naming the key", arguments: [
        ("queues:\n  - name: incoming\n    clean: incoming",
         "queues[incoming].clean (/r/incoming) is the same directory as queues[incoming].incoming"),
        ("queues:\n  - name: incoming\n    clean: incoming/clean",
         "queues[incoming].clean (/r/incoming/clean) is inside queues[incoming].incoming (/r/incoming)"),
        ("queues:\n  - name: incoming\n    incoming: up/in\n    clean: up",
         "queues[incoming].clean (/r/up) contains queues[incoming].incoming (/r/up/in)"),
        ("queues:\n  - name: incoming\n    infected: ./clean/",
         "queues[incoming].infected (/r/clean) is the same directory as queues[incoming].clean"),
        ("queues:\n  - name: a\n    incoming: q\n  - name: b\n    incoming: q\n    clean: b-clean\n    infected: b-infected",
         "queues[b].incoming (/r/q) is the same directory as queues[a].incoming"),
        ("queues:\n  - name: a\n  - name: b\n    incoming: clean",
         "queues[b].incoming (/r/clean) is the same directory as queues[a].clean"),
        ("queues:\n  - name: incoming\n    incoming: ../../../../decoy",
         "queues[incoming].incoming: '../../../../decoy' has a '..' component; write the path without it"),
        ("queues:\n  - name: incoming\n    clean: /r/x/../incoming",
         "queues[incoming].clean: '/r/x/../incoming' has a '..' component; write the path without it"),
        ("list_dir: lists/../../x\n", "list_dir: 'lists/../../x' has a '..' component; write the path without it"),
        ("temp: ../t\n", "temp: '../t' has a '..' component; write the path without it"),
    ])
    func lexical(yaml: String, message: String) throws {
        let error = #expect(throws: PipelineError.self) { try PipelineLayout.parse(config: "root: /r\n" + yaml, source: "cfg") }
        #expect(error?.code == .invalidConfig)
        #expect(error?.message == Self.prefix + message, "\(error?.message ?? "no error")")
    }

    @Test("misspelt keys are refused with the nearest known key", arguments: [
        ("stat_dir: /s", "unknown key 'stat_dir' (did you mean 'state_dir'?)"),
        ("root: /r\nqueue:\n  - name: a", "unknown key 'queue' (did you mean 'queues'?)"),
        ("queues:\n  - name: incoming\n    clen: done", "unknown key 'clen' in queues[incoming] (did you mean 'clean'?)"),
        ("queues:\n  - name: incoming\n    infectd: bad", "unknown key 'infectd' in queues[incoming] (did you mean 'infected'?)"),
        ("agesource: btime", "unknown key 'agesource' (did you mean 'age_source'?)"),
    ])
    func misspeltKeys(yaml: String, message: String) throws {
        let error = #expect(throws: PipelineError.self) { try PipelineLayout.parse(config: yaml, source: "cfg") }
        #expect(error?.message == Self.prefix + message, "\(error?.message ?? "no error")")
    }

    @Test("what stays accepted: the standard layout, queues sharing an outcome tree, absolute trees elsewhere")
    func accepted() throws {
        #expect(try PipelineLayout.parse(config: "root: /r\n").queues.count == 2)
        let shared = try PipelineLayout.parse(config: "root: /r\nqueues:\n  - name: a\n  - name: b\n    incoming: b-in\n")
        #expect(shared.queues.map(\.clean) == ["/r/clean", "/r/clean"])
        let absolute = try PipelineLayout.parse(config: "root: /r\nqueues:\n  - name: a\n    infected: /quarantine/a\n")
        #expect(absolute.queues[0].infected == "/quarantine/a")
    }

    /// A root with incoming/, clean/ and infected/, and a decoy directory beside it (not under it).
    func tree() throws -> (TemporaryTree, root: String, decoy: String) {
        let tree = try TemporaryTree(prefix: "lyv")
        for directory in ["uploads/incoming", "uploads/infected", "uploads/draft-incoming", "uploads/draft-clean",
                          "uploads/draft-infected", "decoy"] {
            try tree.directory(directory)
        }
        try tree.file("decoy/passwd", contents: Array("decoy\n".utf8))
        return (tree, Self.real(tree.path("uploads")), Self.real(tree.path("decoy")))
    }

    static func real(_ path: String) -> String {
        guard let resolved = realpath(path, nil) else { return path }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    @Test("on disk: an outcome tree that is a symlink to the queue is refused")
    func symlinkedOutcomeTree() throws {
        let (tree, root, _) = try tree()
        try tree.symlink("uploads/clean", to: root + "/incoming")
        let error = #expect(throws: PipelineError.self) { try PipelineLayout.load(configFile: nil, root: root) }
        #expect(error?.message == "invalid layout: queues[incoming].clean (\(root)/clean) resolves to \(root)/incoming, the same directory as queues[incoming].incoming",
                "\(error?.message ?? "no error")")
        // A symlink into the queue is refused as nesting.
        unlink(root + "/clean")
        try tree.directory("uploads/incoming/sub")
        try tree.symlink("uploads/clean", to: root + "/incoming/sub")
        let nested = #expect(throws: PipelineError.self) { try PipelineLayout.load(configFile: nil, root: root) }
        #expect(nested?.message == "invalid layout: queues[incoming].clean (\(root)/clean) resolves to \(root)/incoming/sub, inside queues[incoming].incoming (\(root)/incoming)",
                "\(nested?.message ?? "no error")")
    }

    @Test("on disk: a relative tree resolving outside the root is refused; the same directory written absolutely is accepted")
    func outsideTheRoot() throws {
        let (tree, root, decoy) = try tree()
        try tree.directory("uploads/clean")
        unlink(root + "/incoming")
        rmdir(root + "/incoming")
        try tree.symlink("uploads/incoming", to: decoy)
        let error = #expect(throws: PipelineError.self) { try PipelineLayout.load(configFile: nil, root: root) }
        #expect(error?.message == "invalid layout: queues[incoming].incoming (\(root)/incoming) resolves to \(decoy), outside the root \(root); write it as an absolute path if that is intended",
                "\(error?.message ?? "no error")")
        // Written as an absolute path on purpose: accepted.
        let config = try tree.file("vs.yml", contents: Array("root: \(root)\nqueues:\n  - name: incoming\n    incoming: \(decoy)\n".utf8))
        let layout = try PipelineLayout.load(configFile: config, root: nil)
        #expect(layout.queues[0].incoming == decoy)
        #expect(try FileOutput.read(decoy + "/passwd") == Array("decoy\n".utf8))
    }
}

@Suite("SafeMover: a file is never its own duplicate", .serialized)
struct OwnDuplicateTests {
    @Test("a queue whose clean tree is the queue itself (bypassing layout validation): the file stays, a conflict")
    func ownDuplicate() throws {
        let f = try DrainFixture()
        let bytes = try f.cleanFile(Array("a/only copy.pdf".utf8))
        var configuration = f.configuration()
        configuration.queue.clean = f.queue.incoming
        let report = try QueueDrain(configuration: configuration, scanner: f.engine()).run(log: { _, _ in })
        #expect(report.files.map(\.disposition) == [.kept(.conflict("the destination is the queued file itself (same device and inode): an outcome tree resolves to the queue"))])
        #expect(report.count("dropped-duplicate") == 0)
        #expect(try FileOutput.read(f.queue.incoming + "/a/only copy.pdf") == bytes)
    }
}
