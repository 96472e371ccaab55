import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A small JSON file a run keeps its state in and the checks read: the rescan state
/// (``RescanState``), a watcher's heartbeat (``WatchState``). Parsed whole (at most 1 MiB), written
/// with sorted keys; a file that does not parse is ``PipelineError`` `invalid configuration`
/// naming the field (``describingDecoding(_:)``).
public protocol JSONStateFile: Codable {
    /// What the file is, in messages (`rescan state` gives "invalid rescan state file …").
    static var kind: String { get }
    /// Whether ``load(path:)`` follows a symlink at the path (default true).
    static var followsSymlinks: Bool { get }
}

extension JSONStateFile {
    public static var followsSymlinks: Bool { true }

    /// Parses the JSON text; `source` names it in the error (default: the kind).
    public init(json: [UInt8], source: String? = nil) throws(PipelineError) {
        let source = source ?? Self.kind
        do {
            self = try JSONDecoder().decode(Self.self, from: Data(json))
        } catch {
            throw PipelineError(.invalidConfig, "invalid \(Self.kind) file \(source): \(describingDecoding(error))", path: source)
        }
    }

    /// The JSON text (sorted keys), as writers should produce it.
    public func json() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        // Encoding plain numbers and strings cannot fail.
        return Array((try? encoder.encode(self)) ?? Data())
    }

    /// Reads the file; nil when it does not exist.
    public static func load(path: String) throws(PipelineError) -> Self? {
        let bytes: [UInt8]
        do {
            bytes = try readFileBytes(path, limit: 1 << 20, followSymlinks: followsSymlinks)
        } catch {
            if error.rawValue == ENOENT { return nil }
            throw PipelineError(.io, "cannot read \(kind) file \(path): \(error)", path: path, errno: error.rawValue)
        }
        return try Self(json: bytes, source: path)
    }
}
