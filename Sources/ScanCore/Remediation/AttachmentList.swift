/// Writes the lists of newly clean files that the copy-to-slaves job reads (one absolute path per
/// line), atomically as the legacy scanner did: the list is written under a temp name in the list
/// directory's parent (the job reads every file *in* the list directory, so a half-written file
/// must never be there), fsynced, then renamed into the directory, which is then fsynced.
public struct AttachmentListWriter: Sendable {
    public let directory: String
    public let queue: String
    static let temporaryPrefix = ".virus_scan-list-tmp."

    public init(directory: String, queue: String) {
        self.directory = directory
        self.queue = queue
    }

    private var parent: String {
        guard let slash = directory.dropLast(directory.hasSuffix("/") ? 1 : 0).lastIndex(of: "/") else { return "." }
        return slash == directory.startIndex ? "/" : String(directory[..<slash])
    }

    /// Writes one list file; returns its path. Paths must not contain a newline (the caller
    /// reports those instead).
    public func write(_ paths: [[UInt8]]) throws(RemediationError) -> String {
        precondition(!paths.contains { $0.contains(UInt8(ascii: "\n")) }, "a path with a newline cannot be listed")
        do {
            try Directories.makeAll(directory)
        } catch {
            throw RemediationError(.io, "cannot create the list directory \(directory): \(errnoText(error.errno.rawValue))", cause: error)
        }
        var random = SystemRandomNumberGenerator()
        let suffix = String(random.next() as UInt64, radix: 36)
        let temporary = parent + "/" + Self.temporaryPrefix + queue + "." + suffix
        let final = directory + "/attachment_sync_list_" + suffix
        var bytes: [UInt8] = []
        for path in paths {
            bytes += path
            bytes.append(UInt8(ascii: "\n"))
        }
        do {
            try AtomicFile.write(bytes, to: final, options: AtomicFile.Options(temporaryPath: temporary))
        } catch where error.call == .open {
            throw RemediationError(.io, "cannot create \(temporary): \(errnoText(error.errno.rawValue))", cause: error)
        } catch {
            throw RemediationError(.io, "cannot write the list file \(final): \(error)", cause: error)
        }
        return final
    }

    /// Removes this queue's temp list files left by a killed run (call while holding the lock).
    public func removeStaleTemporaries() -> [String] {
        let prefix = Array((Self.temporaryPrefix + queue + ".").utf8)
        guard let directory = try? Directories.open(parent) else { return [] }
        var removed: [String] = []
        for name in ((try? DirectoryReader.names(in: directory.rawValue)) ?? []) where name.starts(with: prefix) {
            if case .success = Sys.unlinkat(directory.rawValue, name) {
                removed.append(parent + "/" + PathEscaping.display(name))
            }
        }
        return removed
    }
}
