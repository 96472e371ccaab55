import Synchronization

/// The circuit breaker of `drain` and `rescan-clean` (`--storm-limit`): once one signature has
/// matched `limit` distinct files, further files matching it are **held** — left where they are,
/// neither published nor quarantined — so a bad signature (a false-positive storm) cannot empty a
/// queue or the published tree into quarantine before anyone looks.
///
/// A file counts once per signature (key: queue and queue-relative path). `drain` seeds the
/// breaker with the journal's last hour for its pipeline (``seed(from:)``: every infected record,
/// quarantined or held), so a storm spread over runs a minute apart still trips it, and a run
/// after a tripped one holds again; `rescan-clean` counts its own run only. Thread-safe: the
/// decision for a file is taken under one lock, so parallel scans never quarantine more than
/// `limit` files of a signature.
public final class StormBreaker: Sendable {
    /// The default `--storm-limit`: more distinct files of one signature than a real outbreak in
    /// one upload pipeline produces in an hour, few enough that a bad signature is stopped early.
    public static let defaultLimit = 100
    /// How far back `drain` reads the journal.
    public static let journalWindow: Double = 3600

    public enum Decision: Sendable, Hashable {
        case quarantine
        /// Held: `matched` distinct files of this signature (this one included) are known.
        case hold(matched: Int)
    }

    /// 0: off (every infected file is quarantined).
    public let limit: Int
    private let matched = Mutex<[String: Set<String>]>([:])

    public init(limit: Int) { self.limit = max(0, limit) }

    public var enabled: Bool { limit > 0 }

    /// The key a file counts under.
    public static func key(queue: String, path: String) -> String { queue + "\u{0}" + path }

    /// Counts the infected records (any action but `dry-run`) as files already matched.
    public func seed(from records: [JournalRecord]) {
        matched.withLock { matched in
            for record in records where record.verdict == "infected" && record.action != "dry-run" {
                guard let signature = record.signature else { continue }
                matched[signature, default: []].insert(Self.key(queue: record.queue, path: record.path))
            }
        }
    }

    /// Whether a file that matched `signature` may be quarantined: held once `limit` other distinct
    /// files of the signature are known. The file counts as matched either way.
    public func decide(signature: String, queue: String, path: String) -> Decision {
        guard enabled else { return .quarantine }
        let key = Self.key(queue: queue, path: path)
        return matched.withLock { matched in
            var files = matched[signature, default: []]
            let others = files.count - (files.contains(key) ? 1 : 0)
            files.insert(key)
            matched[signature] = files
            return others >= limit ? .hold(matched: files.count) : .quarantine
        }
    }

    /// Distinct files matched per signature so far (seeded ones included).
    public func matchedCounts() -> [String: Int] {
        matched.withLock { $0.mapValues(\.count) }
    }

    /// What the summary says about held files: per signature, how many, and what to do.
    public static func advice(signature: String, held: Int, matched: Int, limit: Int, ignoreCommand: String, rerun: String) -> String {
        "\(held) file\(held == 1 ? "" : "s") matching \(signature) held (storm limit \(limit): \(matched) distinct files matched it); "
            + "if it is a false positive: \(ignoreCommand); if the detections are real: \(rerun)"
    }

    /// `text` as one POSIX shell word: unchanged when it is only safe characters, else in single
    /// quotes (a quote inside as `'\''`).
    public static func shellWord(_ text: String) -> String {
        let safe = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-+=/:,@%")
        if !text.isEmpty && text.allSatisfy({ safe.contains($0) }) { return text }
        var word = "'"
        for character in text { word += character == "'" ? "'\\''" : String(character) }
        return word + "'"
    }

    /// The `check_virus_scan ignore-signature` command line for `signature`, followed by `options`
    /// (the words naming the database directory and clamd the operator's command used, unquoted).
    public static func ignoreCommand(signature: String, options: [String] = []) -> String {
        (["check_virus_scan", "ignore-signature", shellWord(signature), "--reason", "'false positive: …'"] + options.map(shellWord))
            .joined(separator: " ")
    }
}
