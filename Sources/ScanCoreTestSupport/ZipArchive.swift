/// Builds a zip archive in memory with stored (uncompressed) entries: enough for libclamav to
/// unpack (docx/xlsx containers, an EICAR inside a zip) with no
/// dependency on a zip library. Entries carry a fixed timestamp so output is deterministic.
public struct ZipArchive {
    private var body: [UInt8] = []
    private var central: [UInt8] = []
    private var count = 0

    public init() {}

    /// Appends a file entry named `name` holding `data` (stored, method 0).
    public mutating func add(_ name: String, _ data: [UInt8]) {
        let nameBytes = Array(name.utf8)
        let crc = Checksums.crc32(data)
        let offset = UInt32(body.count)
        // Local file header.
        body.appendLE32(0x0403_4B50)
        body.appendLE16(20)  // version needed
        body.appendLE16(0)  // flags
        body.appendLE16(0)  // method: stored
        body.appendLE16(0x6000)  // time 12:00:00
        body.appendLE16(0x5A79)  // date 2025-03-25
        body.appendLE32(crc)
        body.appendLE32(UInt32(data.count))
        body.appendLE32(UInt32(data.count))
        body.appendLE16(UInt16(nameBytes.count))
        body.appendLE16(0)
        body.append(contentsOf: nameBytes)
        body.append(contentsOf: data)
        // Central directory record.
        central.appendLE32(0x0201_4B50)
        central.appendLE16(0x031E)  // made by: Unix, 3.0
        central.appendLE16(20)
        central.appendLE16(0)
        central.appendLE16(0)
        central.appendLE16(0x6000)
        central.appendLE16(0x5A79)
        central.appendLE32(crc)
        central.appendLE32(UInt32(data.count))
        central.appendLE32(UInt32(data.count))
        central.appendLE16(UInt16(nameBytes.count))
        central.appendLE16(0)  // extra
        central.appendLE16(0)  // comment
        central.appendLE16(0)  // disk
        central.appendLE16(0)  // internal attributes
        central.appendLE32(0o100644 << 16)  // external attributes: regular file 0644
        central.appendLE32(offset)
        central.append(contentsOf: nameBytes)
        count += 1
    }

    /// The complete archive.
    public var bytes: [UInt8] {
        var out = body
        out.append(contentsOf: central)
        out.appendLE32(0x0605_4B50)
        out.appendLE16(0)
        out.appendLE16(0)
        out.appendLE16(UInt16(count))
        out.appendLE16(UInt16(count))
        out.appendLE32(UInt32(central.count))
        out.appendLE32(UInt32(body.count))
        out.appendLE16(0)
        return out
    }
}

extension Array where Element == UInt8 {
    mutating func appendLE16(_ v: UInt16) {
        append(UInt8(v & 0xFF))
        append(UInt8(v >> 8))
    }

    mutating func appendLE32(_ v: UInt32) {
        for i in 0..<4 { append(UInt8(truncatingIfNeeded: v >> (8 * UInt32(i)))) }
    }
}
