/// tar, gzip and zlib writers for fixtures. Compression is "stored" (deflate blocks of type 0):
/// the output is valid for every reader (zlib, libclamav, GNU tar) and costs no CPU to write.
public enum Archives {
    /// A ustar archive of regular files (mode 0644, fixed mtime), ended by two zero blocks.
    public static func tar(_ files: [(name: String, contents: [UInt8])], mtime: Int = 1_764_072_000) -> [UInt8] {
        var out: [UInt8] = []
        for file in files {
            var header = [UInt8](repeating: 0, count: 512)
            func put(_ text: String, at offset: Int, width: Int) {
                for (i, byte) in text.utf8.prefix(width).enumerated() { header[offset + i] = byte }
            }
            func octal(_ value: Int, width: Int) -> String {
                let digits = String(value, radix: 8)
                return String(repeating: "0", count: max(0, width - 1 - digits.count)) + digits
            }
            put(file.name, at: 0, width: 100)
            put(octal(0o644, width: 8), at: 100, width: 7)
            put(octal(0, width: 8), at: 108, width: 7)
            put(octal(0, width: 8), at: 116, width: 7)
            put(octal(file.contents.count, width: 12), at: 124, width: 11)
            put(octal(mtime, width: 12), at: 136, width: 11)
            put("        ", at: 148, width: 8)
            header[156] = UInt8(ascii: "0")
            put("ustar", at: 257, width: 6)
            put("00", at: 263, width: 2)
            put("clamav", at: 265, width: 32)
            put("clamav", at: 297, width: 32)
            let sum = header.reduce(0) { $0 + Int($1) }
            put(octal(sum, width: 7), at: 148, width: 6)
            header[154] = 0
            header[155] = 0x20
            out += header
            out += file.contents
            let pad = (512 - file.contents.count % 512) % 512
            out += [UInt8](repeating: 0, count: pad)
        }
        out += [UInt8](repeating: 0, count: 1024)
        return out
    }

    /// Raw deflate data made of stored blocks.
    public static func deflateStored(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(data.count + data.count / 65535 * 5 + 5)
        var offset = 0
        repeat {
            let n = min(65535, data.count - offset)
            let final = offset + n == data.count
            out.append(final ? 1 : 0)
            out.appendLE16(UInt16(n))
            out.appendLE16(~UInt16(n))
            out += data[offset..<offset + n]
            offset += n
        } while offset < data.count
        return out
    }

    /// A gzip member (RFC 1952) holding `data`.
    public static func gzip(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 3]
        out += deflateStored(data)
        out.appendLE32(Checksums.crc32(data))
        out.appendLE32(UInt32(truncatingIfNeeded: data.count))
        return out
    }

    /// A zlib stream (RFC 1950) holding `data`: what a PDF `/FlateDecode` stream or a PNG `IDAT`
    /// chunk contains.
    public static func zlib(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x78, 0x01]
        out += deflateStored(data)
        var a: UInt32 = 1
        var b: UInt32 = 0
        for chunk in stride(from: 0, to: data.count, by: 5552) {
            for byte in data[chunk..<min(chunk + 5552, data.count)] {
                a &+= UInt32(byte)
                b &+= a
            }
            a %= 65521
            b %= 65521
        }
        let adler = b << 16 | a
        out += [UInt8(adler >> 24), UInt8((adler >> 16) & 0xFF), UInt8((adler >> 8) & 0xFF), UInt8(adler & 0xFF)]
        return out
    }
}
