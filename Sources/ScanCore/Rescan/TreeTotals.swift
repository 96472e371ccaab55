/// The quick first walk of a pass: files and bytes in the clean trees (2 threads, statx only), so
/// progress and the ETA have a total.
enum TreeTotals {
    static func count(_ trees: [RescanTree]) -> (files: Int, bytes: Int64) {
        var files = 0
        var bytes: Int64 = 0
        for tree in trees {
            guard let parts = try? DirectoryWalker(threads: 2).walk(root: tree.clean, makeVisitor: { CountingVisitor() }) else { continue }
            for part in parts {
                files += part.files
                bytes += part.bytes
            }
        }
        return (files, bytes)
    }
}

/// Counts regular files and their bytes.
struct CountingVisitor: WalkVisitor {
    var files = 0
    var bytes: Int64 = 0
    mutating func enterDirectory(_ directory: WalkDirectory, metadata: FileMetadata?) -> FileStatPolicy { .stat }
    mutating func leaveDirectory(_ directory: WalkDirectory) {}
    mutating func regularFile(_ directory: WalkDirectory, name: UnsafeBufferPointer<UInt8>, metadata: FileMetadata?) {
        files += 1
        bytes += metadata?.size ?? 0
    }
    mutating func anomaly(_ directory: WalkDirectory, name: UnsafeBufferPointer<UInt8>, kind: EntryKind) {}
    mutating func unreadable(path: [UInt8], errno: Int32) {}
}
