/// Renders file names, which on Linux are arbitrary bytes, as printable text without losing
/// information: printable UTF-8 stays as it is, a backslash is doubled, tab/newline/CR become
/// `\t`, `\n`, `\r`, and every other control character or byte that is not valid UTF-8 becomes
/// `\xNN`. The mapping is one-to-one, so two different names never display the same.
public enum PathEscaping {
    /// The escaped, printable form of `bytes`.
    public static func display(_ bytes: some Collection<UInt8>) -> String {
        let array = Array(bytes)
        var out = String()
        out.reserveCapacity(array.count)
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = array.makeIterator()
        var position = 0
        loop: while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let encoded):
                let scalar = Unicode.UTF8.decode(encoded)
                appendEscaped(scalar, bytes: array[position..<position + encoded.count], to: &out)
                position += encoded.count
            case .error(let length):
                for byte in array[position..<position + length] { out += "\\x" + hex(byte) }
                position += length
            case .emptyInput:
                break loop
            }
        }
        return out
    }

    private static func appendEscaped(_ scalar: Unicode.Scalar, bytes: ArraySlice<UInt8>, to out: inout String) {
        switch scalar {
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\t": out += "\\t"
        case "\r": out += "\\r"
        default:
            let category = scalar.properties.generalCategory
            if category == .control || category == .format || category == .lineSeparator
                || category == .paragraphSeparator
            {
                for byte in bytes { out += "\\x" + hex(byte) }
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
    }

    private static func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]])
    }
}
