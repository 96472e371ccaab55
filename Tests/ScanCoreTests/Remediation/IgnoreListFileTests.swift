import Glibc
import ScanCore
import ScanCoreTestSupport
import Testing

@Suite("Ignore list file")
struct IgnoreListFileTests {
    @Test("an edit is checked with libclamav first; a list it would reject is not written")
    func validatedBeforeWriting() throws {
        let tree = try TemporaryTree()
        let path = tree.path("whitelist.ign2")
        try FileOutput.write("Old.Signature-1\n", to: path)
        let added = try IgnoreListFile.edit(path, adding: "Eicar-Test-Signature.UNOFFICIAL")
        #expect(added.changed)
        #expect(try FileOutput.read(path) == Array("Old.Signature-1\nEicar-Test-Signature\n".utf8))

        // A blank line makes libclamav refuse the whole list: the edit must fail and leave it alone.
        try FileOutput.write("Old.Signature-1\n\nOther.Sig-2\n", to: path)
        let error = #expect(throws: RemediationError.self) { try IgnoreListFile.edit(path, adding: "New.Sig-3") }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.hasPrefix("libclamav rejects the resulting ignore list, so clamd would keep its old database; nothing was written (") == true, "\(error?.message ?? "")")
        #expect(try FileOutput.read(path) == Array("Old.Signature-1\n\nOther.Sig-2\n".utf8))
    }
}
