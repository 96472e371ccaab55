/// The outcome of scanning one file, whichever engine scanned it (clamd or libclamav in-process).
///
/// Only `.infected` may send a file to quarantine and only `.clean` may publish it: an error
/// (including a file over a size limit) leaves the file where it is.
public enum ScanVerdict: Sendable, Hashable {
    /// No signature matched.
    case clean
    /// A signature matched; the associated value is its name (`Eicar-Test-Signature`).
    case infected(signature: String)
    /// The file could not be scanned; the associated value is the engine's own message.
    case error(message: String)

    /// `clean`, `infected` or `error`: the label used in the journal, metrics and output.
    public var label: String {
        switch self {
        case .clean: "clean"
        case .infected: "infected"
        case .error: "error"
        }
    }
}
