#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization

/// Editing the ignore list (`whitelist.ign2`) atomically, one editor at a time.
public enum IgnoreListFile {
    public static let defaultName = "whitelist.ign2"

    /// The lock beside the list (`whitelist.ign2.lock`; libclamav skips the extension) that
    /// serialises editors: without it two runs at once read the same list and the second rename
    /// drops the first one's entry.
    public static func lockPath(for path: String) -> String { path + ".lock" }

    /// What an edit did.
    public struct Change: Sendable, Hashable {
        public var path: String
        /// False when the name was already there (add) or absent (remove): the file was not rewritten.
        public var changed: Bool
        public var entries: [String]
    }

    /// Reads the list at `path` (an absent file is an empty list).
    public static func read(_ path: String) throws(RemediationError) -> IgnoreList {
        do { return IgnoreList(parsing: try readTextFile(path)) } catch {
            if error.rawValue == ENOENT { return IgnoreList() }
            throw RemediationError(.io, "cannot read \(path): \(error)")
        }
    }

    /// Adds (or removes) `signature` and rewrites the file atomically (temp in the same
    /// directory, fsync, rename, fsync of the directory), keeping every other line and the file's
    /// mode and owner. Names as a scan reports them (`….UNOFFICIAL`) are stored as the database
    /// writes them.
    public static func edit(_ path: String, adding: String? = nil, removing: String? = nil) throws(RemediationError) -> Change {
        var list = try read(path)
        var changed = false
        if let adding {
            let name = IgnoreList.databaseName(forReported: adding)
            do { changed = try list.add(name) } catch {
                throw RemediationError(.invalidArgument, error.message, cause: error)
            }
        }
        if let removing {
            changed = list.remove(IgnoreList.databaseName(forReported: removing)) || changed
        }
        if changed {
            let text = list.rendered()
            try validate(text)
            try writeAtomically(text, to: path)
        }
        return Change(path: path, changed: changed, entries: list.signatures)
    }

    /// Loads `text` as an ignore list with libclamav (beside one harmless hash signature, in a temp
    /// directory) before it replaces the real list: libclamav rejects a whole .ign2 with a blank or
    /// malformed line, and clamd would then keep its old database while still answering PING and
    /// VERSION — the reload would look verified when it was refused.
    static func validate(_ text: String) throws(RemediationError) {
        let directory: String
        switch Sys.mkdtemp("/tmp/virus_scan-ign2-check.XXXXXX") {
        case .success(let made): directory = made
        case .failure(let failure): throw RemediationError(.io, "cannot create a temp dir to check the ignore list: \(failure.errno)")
        }
        defer {
            _ = Sys.unlink(directory + "/" + defaultName)
            _ = Sys.unlink(directory + "/check.hdb")
            _ = Sys.rmdir(directory)
        }
        func write(_ name: String, _ content: String) -> Bool {
            guard let file = try? FileDescriptor.open(directory + "/" + name, O_WRONLY | O_CREAT | O_TRUNC, mode: 0o644) else { return false }
            return (try? file.writeAll(Array(content.utf8))) != nil && (try? file.close()) != nil
        }
        // The MD5 of "virus-scan ignore-list check\n": matches nothing real.
        guard write("check.hdb", "0f6ea4f8b40f0ce7d3e3e1b1b0b6ad3c:29:VirusScan.IgnoreListCheck\n"),
              write(defaultName, text)
        else { throw RemediationError(.io, "cannot write the ignore list check files in \(directory)") }
        do {
            _ = try ClamAVEngine(databaseDirectory: directory)
        } catch {
            let detail = ([error.message] + error.libclamavMessages).joined(separator: "; ")
            throw RemediationError(
                .invalidArgument,
                "libclamav rejects the resulting ignore list, so clamd would keep its old database; nothing was written (\(detail))",
                cause: error)
        }
    }

    static func writeAtomically(_ text: String, to path: String) throws(RemediationError) {
        do {
            try AtomicFile.write(Array(text.utf8), to: path, options: AtomicFile.Options(keepOwnerAndMode: true))
        } catch where error.call == .open {
            throw RemediationError(.io, "cannot create \(error.path ?? path): \(errnoText(error.errno.rawValue))", cause: error)
        } catch {
            throw RemediationError(.io, "cannot write \(path): \(errnoText(error.errno.rawValue))", cause: error)
        }
    }

    /// Asks clamd to RELOAD and verifies it came back: PONG and VERSION within `deadline`
    /// seconds after the reload was accepted.
    public static func reload(_ client: ClamdClient, deadline: Double = 60) -> (ok: Bool, detail: String, version: ClamdVersion?) {
        do { try client.reload() } catch {
            return (false, "RELOAD failed: \(error.message)", nil)
        }
        let wait = ClamdRestart.waitForPong(client, deadline: deadline, settle: 0.2)
        guard let seconds = wait.secondsToPong else {
            return (false, "clamd did not answer PING within \(Int(deadline)) s after RELOAD (\(wait.lastError ?? "no answer"))", nil)
        }
        guard let version = wait.version else {
            return (false, "clamd answered PING after RELOAD but not VERSION", nil)
        }
        return (true, "clamd reloaded; PONG after \((seconds * 100).rounded() / 100) s; \(version.raw)", version)
    }
}
