import ScanCore
import Testing

@Suite("IgnoreList")
struct IgnoreListTests {
    static let text = """
        # Signatures ignored after review, ticket OPS-1234
        Win.Test.EICAR_HDB-1

        PUA.Pdf.Trojan.EmbeddedJavaScript-1:0c5cd4d0a1f54b0cae7c3aa2a18fcb81
          Doc.Macro.Generic-42  \r
        daily.ldb:1234:Legacy.Old.Format-1
        not:a:valid:entry

        """

    @Test func parsesEntriesAndKeepsEverythingElse() {
        let list = IgnoreList(parsing: Self.text)
        #expect(
            list.entries == [
                .init(signature: "Win.Test.EICAR_HDB-1"),
                .init(signature: "PUA.Pdf.Trojan.EmbeddedJavaScript-1", md5: "0c5cd4d0a1f54b0cae7c3aa2a18fcb81"),
                .init(signature: "Doc.Macro.Generic-42"),
                .init(signature: "Legacy.Old.Format-1"),
            ])
        #expect(list.rendered() == Self.text)
        #expect(list.contains("Doc.Macro.Generic-42"))
        #expect(!list.contains("not"))
    }

    @Test func addAppendsOnceAndKeepsOtherLines() throws {
        var list = IgnoreList(parsing: Self.text)
        #expect(try list.add("Html.Phishing.Bank-7") == true)
        #expect(try list.add("Html.Phishing.Bank-7") == false)
        #expect(try list.add("Win.Test.EICAR_HDB-1") == false)
        #expect(list.rendered() == Self.text + "Html.Phishing.Bank-7\n")
    }

    @Test func addToFileWithoutFinalNewline() throws {
        var list = IgnoreList(parsing: "# list\nA.B-1")
        #expect(list.rendered() == "# list\nA.B-1")
        try list.add("C.D-2")
        #expect(list.rendered() == "# list\nA.B-1\nC.D-2\n")
    }

    @Test func removeDeletesEveryEntryForTheName() {
        var list = IgnoreList(parsing: "A-1\n# keep\nA-1:0c5cd4d0a1f54b0cae7c3aa2a18fcb81\nB-2\n")
        #expect(list.remove("A-1") == true)
        #expect(list.remove("A-1") == false)
        #expect(list.rendered() == "# keep\nB-2\n")
        #expect(list.signatures == ["B-2"])
    }

    @Test func emptyList() throws {
        var list = IgnoreList(parsing: "")
        #expect(list.entries.isEmpty)
        #expect(list.rendered() == "")
        try list.add("X.Y-1")
        #expect(list.rendered() == "X.Y-1\n")
        #expect(list.remove("X.Y-1") == true)
        #expect(list.rendered() == "")
    }

    @Test(arguments: [
        ("", "invalid signature name: the name is empty"),
        ("Win Test", "invalid signature name \"Win Test\": it contains byte 0x20; names are printable ASCII without spaces, \":\" or \";\""),
        ("A:B", "invalid signature name \"A:B\": it contains \":\"; names are printable ASCII without spaces, \":\" or \";\""),
        ("A;B", "invalid signature name \"A;B\": it contains \";\"; names are printable ASCII without spaces, \":\" or \";\""),
        ("A\nB", "invalid signature name \"A\\nB\": it contains byte 0xa; names are printable ASCII without spaces, \":\" or \";\""),
        ("#A", "invalid signature name \"#A\": a line starting with # is a comment"),
        ("Ä.B", "invalid signature name \"Ä.B\": it contains byte 0xc3; names are printable ASCII without spaces, \":\" or \";\""),
        (String(repeating: "a", count: 256), "invalid signature name: 256 bytes, the limit is 255"),
    ])
    func rejectsInvalidNames(name: String, message: String) {
        var list = IgnoreList()
        do {
            try list.add(name)
            Issue.record("\(name.debugDescription) was accepted")
        } catch {
            #expect(error.code == .invalidSignatureName)
            #expect(error.message == message)
        }
        #expect(list.entries.isEmpty)
    }

    @Test func acceptsRealNames() throws {
        for name in [
            "Win.Test.EICAR_HDB-1", "Eicar-Test-Signature", "Heuristics.Phishing.Email.SpoofedDomain",
            "PUA.Win.Packer.Upx-5", "Xls.Exploit.CVE_2017_11882-6316519-0",
        ] {
            try IgnoreList.validate(signatureName: name)
        }
    }

    @Test func databaseNameDropsTheUnofficialSuffix() {
        #expect(IgnoreList.databaseName(forReported: "Eicar-Test-Signature.UNOFFICIAL") == "Eicar-Test-Signature")
        #expect(IgnoreList.databaseName(forReported: "Win.Test.EICAR_HDB-1") == "Win.Test.EICAR_HDB-1")
        #expect(IgnoreList.databaseName(forReported: ".UNOFFICIAL") == ".UNOFFICIAL")
    }
}
