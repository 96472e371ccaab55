import Foundation

/// One line for an error of `JSONDecoder` (the layout file, the rescan state file): the coding
/// path of the field (`queues.0.name`) and what is wrong with it; any other error as it describes
/// itself.
func describingDecoding(_ error: any Error) -> String {
    guard let decoding = error as? DecodingError else { return "\(error)" }
    switch decoding {
    case .typeMismatch(_, let context), .valueNotFound(_, let context), .keyNotFound(_, let context),
         .dataCorrupted(let context):
        let path = context.codingPath.map(\.stringValue).joined(separator: ".")
        return path.isEmpty ? context.debugDescription : "\(path): \(context.debugDescription)"
    @unknown default:
        return "\(error)"
    }
}
