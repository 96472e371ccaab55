/// `bytes` with a NUL appended, as the C calls want a name.
func cString(_ bytes: [UInt8]) -> [CChar] {
    var out = bytes.map { CChar(bitPattern: $0) }
    out.append(0)
    return out
}
