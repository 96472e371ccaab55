/// An upload-like corpus for benchmarks: PDFs with (Flate) streams and embedded images, Office
/// documents (docx, xlsx: zip containers of XML), PNG and JPEG images, and text (plain, CSV,
/// HTML), 10 KB to 5 MB (most files small: mean about 370 KB), 1% of them the EICAR test file
/// (alone, inside a zip, or inside a docx). Deterministic for a seed.
public enum Corpus {
    /// What was written.
    public struct Summary: Sendable {
        /// Every file written, in order.
        public var files: [String]
        /// The files that hold EICAR (a scan must report them infected).
        public var infected: [String]
        /// Total bytes written.
        public var bytes: Int
    }

    /// The kinds of file, with their share of the corpus in percent.
    enum Kind: CaseIterable {
        case pdf, docx, xlsx, png, jpeg, text, csv, html

        var share: Int {
            switch self {
            case .pdf: 30
            case .docx: 15
            case .xlsx: 10
            case .png: 12
            case .jpeg: 10
            case .text: 10
            case .csv: 7
            case .html: 6
            }
        }

        var fileExtension: String {
            switch self {
            case .pdf: "pdf"
            case .docx: "docx"
            case .xlsx: "xlsx"
            case .png: "png"
            case .jpeg: "jpg"
            case .text: "txt"
            case .csv: "csv"
            case .html: "html"
            }
        }
    }

    /// Writes `count` files into `directory` (created if needed), spread over subdirectories of
    /// 100 files each (`upload-0000/`, …) like an upload tree.
    @discardableResult
    public static func write(files count: Int, to directory: String, seed: UInt64 = 1) throws -> Summary {
        try FileOutput.makeDirectory(directory)
        var summary = Summary(files: [], infected: [], bytes: 0)
        for index in 0..<count {
            let folder = directory + "/upload-" + pad(index / 100, 4)
            if index % 100 == 0 { try FileOutput.makeDirectory(folder) }
            let (name, bytes, infected) = generate(index: index, seed: seed)
            let path = folder + "/" + name
            try FileOutput.write(bytes, to: path)
            summary.files.append(path)
            if infected { summary.infected.append(path) }
            summary.bytes += bytes.count
        }
        return summary
    }

    /// File `index` of the corpus for `seed`, without writing it: its name, bytes and whether it
    /// holds EICAR.
    public static func generate(index: Int, seed: UInt64 = 1) -> (name: String, bytes: [UInt8], infected: Bool) {
        var rng = SplitMix64(seed: seed &* 1_000_003 &+ UInt64(index))
        return file(index: index, rng: &rng)
    }

    private static func pad(_ n: Int, _ width: Int) -> String {
        let s = String(n)
        return String(repeating: "0", count: max(0, width - s.count)) + s
    }

    /// File `index`: every 100th (from the 50th) holds EICAR, cycling through alone, in a zip and
    /// in a docx.
    static func file(index: Int, rng: inout SplitMix64) -> (name: String, bytes: [UInt8], infected: Bool) {
        let id = pad(index, 6)
        if index % 100 == 50 {
            switch (index / 100) % 3 {
            case 0: return ("file-\(id).com", EICAR.bytes, true)
            case 1:
                var zip = ZipArchive()
                zip.add("invoice.txt", text(words: 200, rng: &rng))
                zip.add("attachment/eicar.com", EICAR.bytes)
                return ("file-\(id).zip", zip.bytes, true)
            default:
                return ("file-\(id).docx", docx(targetSize: 20_000, rng: &rng, extra: ("word/media/eicar.bin", EICAR.bytes)), true)
            }
        }
        // Size: 10 KB * 500^(u^2.5): 10 KB to 5 MB, mean ~370 KB.
        let u = Double(rng.next() % 1_000_000) / 1_000_000
        let size = Int(10_000 * pow500(u * u * u.squareRoot()))
        var roll = Int(rng.next() % 100)
        var kind = Kind.pdf
        for candidate in Kind.allCases {
            if roll < candidate.share {
                kind = candidate
                break
            }
            roll -= candidate.share
        }
        let bytes: [UInt8]
        switch kind {
        case .pdf: bytes = pdf(targetSize: size, rng: &rng)
        case .docx: bytes = docx(targetSize: size, rng: &rng, extra: nil)
        case .xlsx: bytes = xlsx(targetSize: size, rng: &rng)
        case .png: bytes = png(targetSize: size, rng: &rng)
        case .jpeg: bytes = jpeg(targetSize: size, rng: &rng)
        case .text: bytes = text(words: size / 6, rng: &rng)
        case .csv: bytes = csv(targetSize: size, rng: &rng)
        case .html: bytes = html(targetSize: size, rng: &rng)
        }
        return ("file-\(id).\(kind.fileExtension)", bytes, false)
    }

    /// 500^x without Foundation.
    private static func pow500(_ x: Double) -> Double {
        // exp(x * ln 500) by repeated squaring of a series: enough precision for sizes.
        let y = x * 6.214_608_098_422_191
        var term = 1.0
        var sum = 1.0
        for n in 1..<40 {
            term *= y / Double(n)
            sum += term
        }
        return sum
    }

    // MARK: - Text

    private static let words: [[UInt8]] = [
        "the", "invoice", "for", "services", "rendered", "during", "quarter", "please", "find", "attached", "report",
        "customer", "account", "payment", "due", "within", "thirty", "days", "of", "receipt", "and", "contract",
        "delivery", "shipment", "order", "number", "reference", "total", "amount", "balance", "statement",
        "regards", "team", "project", "meeting", "schedule", "budget", "forecast", "revenue", "summary", "table",
        "figure", "appendix", "section", "policy", "insurance", "claim", "document", "signature", "approval",
    ].map { Array($0.utf8) }

    static func text(words count: Int, rng: inout SplitMix64) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(count * 7)
        for i in 0..<count {
            out += words[Int(rng.next() % UInt64(words.count))]
            out.append(i % 14 == 13 ? 0x0A : 0x20)
        }
        return out
    }

    private static func csv(targetSize: Int, rng: inout SplitMix64) -> [UInt8] {
        var out = Array("id,date,customer,amount,currency,status\n".utf8)
        var row = 0
        while out.count < targetSize {
            row += 1
            out += Array("\(row),2025-\(1 + row % 12)-\(1 + row % 28),".utf8)
            out += words[Int(rng.next() % UInt64(words.count))]
            out += Array(",\(rng.next() % 100_000).\(rng.next() % 100),EUR,".utf8)
            out += rng.next() % 2 == 0 ? Array("paid\n".utf8) : Array("open\n".utf8)
        }
        return out
    }

    private static func html(targetSize: Int, rng: inout SplitMix64) -> [UInt8] {
        var out = Array("<!DOCTYPE html>\n<html><head><title>Report</title><script>var x = 1;</script></head><body>\n".utf8)
        while out.count < targetSize - 20 {
            out += Array("<p class=\"c\(rng.next() % 10)\">".utf8)
            out += text(words: 40, rng: &rng)
            out += Array("<a href=\"https://example.com/\(rng.next() % 1000)\">link</a></p>\n".utf8)
        }
        out += Array("</body></html>\n".utf8)
        return out
    }

    // MARK: - PDF

    static func pdf(targetSize: Int, rng: inout SplitMix64) -> [UInt8] {
        var out = Array("%PDF-1.7\n%".utf8) + [0xE2, 0xE3, 0xCF, 0xD3, 0x0A]
        var offsets: [Int] = []
        func object(_ body: [UInt8]) {
            offsets.append(out.count)
            out += Array("\(offsets.count) 0 obj\n".utf8)
            out += body
            out += Array("\nendobj\n".utf8)
        }
        func stream(_ dictionary: String, _ data: [UInt8]) -> [UInt8] {
            Array("<< \(dictionary) /Length \(data.count) >>\nstream\n".utf8) + data + Array("\nendstream".utf8)
        }
        // Pages: ~40% of the size is text content, the rest images.
        let pages = max(1, min(60, targetSize / 60_000))
        let textPerPage = max(2_000, targetSize * 4 / 10 / pages)
        let imagePerPage = max(0, targetSize * 6 / 10 / pages - 200)
        // 1 catalog, 2 pages tree, 3 font, then per page: page, contents, image.
        let firstPage = 4
        object(Array("<< /Type /Catalog /Pages 2 0 R >>".utf8))
        let kids = (0..<pages).map { "\(firstPage + 3 * $0) 0 R" }.joined(separator: " ")
        object(Array("<< /Type /Pages /Kids [\(kids)] /Count \(pages) >>".utf8))
        object(Array("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".utf8))
        for page in 0..<pages {
            let pageObject = firstPage + 3 * page
            object(
                Array(
                    ("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents \(pageObject + 1) 0 R "
                        + "/Resources << /Font << /F1 3 0 R >> /XObject << /Im\(page) \(pageObject + 2) 0 R >> >> >>").utf8))
            var content = Array("BT /F1 11 Tf 72 720 Td 14 TL\n".utf8)
            while content.count < textPerPage {
                content += Array("(".utf8) + text(words: 12, rng: &rng).filter { $0 != 0x0A } + Array(") Tj T*\n".utf8)
            }
            content += Array("ET\nq 200 0 0 150 72 300 cm /Im\(page) Do Q\n".utf8)
            object(stream("/Filter /FlateDecode", Archives.zlib(content)))
            let side = max(8, Int(Double(max(imagePerPage, 192) / 3).squareRoot()))
            var pixels = [UInt8](repeating: 0, count: side * side * 3)
            var value = rng.next()
            for i in 0..<pixels.count {
                if i % 8 == 0 { value = rng.next() }
                pixels[i] = UInt8(truncatingIfNeeded: value >> UInt64((i % 8) * 8)) & 0x3F | UInt8((i / (side * 3)) & 0xC0)
            }
            object(
                stream(
                    "/Type /XObject /Subtype /Image /Width \(side) /Height \(side) /ColorSpace /DeviceRGB "
                        + "/BitsPerComponent 8 /Filter /FlateDecode", Archives.zlib(pixels)))
        }
        let xref = out.count
        out += Array("xref\n0 \(offsets.count + 1)\n0000000000 65535 f \n".utf8)
        for offset in offsets { out += Array("\(pad(offset, 10)) 00000 n \n".utf8) }
        out += Array("trailer\n<< /Size \(offsets.count + 1) /Root 1 0 R >>\nstartxref\n\(xref)\n%%EOF\n".utf8)
        return out
    }

    // MARK: - Office

    private static func xml(_ text: String) -> [UInt8] { Array(("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n" + text).utf8) }

    static func docx(targetSize: Int, rng: inout SplitMix64, extra: (String, [UInt8])?) -> [UInt8] {
        var zip = ZipArchive()
        zip.add(
            "[Content_Types].xml",
            xml(
                "<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">"
                    + "<Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/>"
                    + "<Default Extension=\"xml\" ContentType=\"application/xml\"/>"
                    + "<Override PartName=\"/word/document.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml\"/>"
                    + "</Types>"))
        zip.add(
            "_rels/.rels",
            xml(
                "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
                    + "<Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument\" Target=\"word/document.xml\"/>"
                    + "</Relationships>"))
        zip.add("docProps/core.xml", xml("<cp:coreProperties xmlns:cp=\"http://schemas.openxmlformats.org/package/2006/metadata/core-properties\"><dc:title xmlns:dc=\"http://purl.org/dc/elements/1.1/\">Report</dc:title></cp:coreProperties>"))
        // Text is half the size; a picture (PNG) the other half for larger documents.
        var body = Array(
            "<w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"><w:body>".utf8)
        let textTarget = targetSize > 100_000 ? targetSize / 2 : targetSize
        while body.count < textTarget {
            body += Array("<w:p><w:r><w:t>".utf8) + text(words: 30, rng: &rng).filter { $0 != 0x0A } + Array("</w:t></w:r></w:p>".utf8)
        }
        body += Array("</w:body></w:document>".utf8)
        zip.add("word/document.xml", xml("") + body)
        if targetSize > 100_000 { zip.add("word/media/image1.png", png(targetSize: targetSize / 2, rng: &rng)) }
        if let extra { zip.add(extra.0, extra.1) }
        return zip.bytes
    }

    static func xlsx(targetSize: Int, rng: inout SplitMix64) -> [UInt8] {
        var zip = ZipArchive()
        zip.add(
            "[Content_Types].xml",
            xml(
                "<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">"
                    + "<Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/>"
                    + "<Default Extension=\"xml\" ContentType=\"application/xml\"/>"
                    + "<Override PartName=\"/xl/workbook.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml\"/>"
                    + "<Override PartName=\"/xl/worksheets/sheet1.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml\"/>"
                    + "</Types>"))
        zip.add(
            "_rels/.rels",
            xml(
                "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
                    + "<Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument\" Target=\"xl/workbook.xml\"/>"
                    + "</Relationships>"))
        zip.add(
            "xl/workbook.xml",
            xml(
                "<workbook xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\"><sheets><sheet name=\"Sheet1\" sheetId=\"1\"/></sheets></workbook>"))
        var sheet = Array("<worksheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\"><sheetData>".utf8)
        var row = 0
        while sheet.count < targetSize {
            row += 1
            sheet += Array("<row r=\"\(row)\">".utf8)
            for column in ["A", "B", "C", "D", "E", "F"] {
                sheet += Array("<c r=\"\(column)\(row)\"><v>\(rng.next() % 1_000_000)</v></c>".utf8)
            }
            sheet += Array("</row>".utf8)
        }
        sheet += Array("</sheetData></worksheet>".utf8)
        zip.add("xl/worksheets/sheet1.xml", xml("") + sheet)
        return zip.bytes
    }

    // MARK: - Images

    private static func pngChunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        let length = UInt32(data.count)
        out += [UInt8(length >> 24), UInt8((length >> 16) & 0xFF), UInt8((length >> 8) & 0xFF), UInt8(length & 0xFF)]
        let typed = Array(type.utf8) + data
        out += typed
        let crc = Checksums.crc32(typed)
        out += [UInt8(crc >> 24), UInt8((crc >> 16) & 0xFF), UInt8((crc >> 8) & 0xFF), UInt8(crc & 0xFF)]
        return out
    }

    /// A valid RGB PNG (stored zlib data) of about `targetSize` bytes.
    static func png(targetSize: Int, rng: inout SplitMix64) -> [UInt8] {
        let side = max(4, Int(Double(targetSize / 3).squareRoot()))
        var ihdr: [UInt8] = []
        for value in [UInt32(side), UInt32(side)] {
            ihdr += [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)]
        }
        ihdr += [8, 2, 0, 0, 0]
        var raw = [UInt8](repeating: 0, count: side * (side * 3 + 1))
        var value = rng.next()
        for y in 0..<side {
            let rowStart = y * (side * 3 + 1)
            for x in 0..<(side * 3) {
                if x % 8 == 0 { value = rng.next() }
                raw[rowStart + 1 + x] = UInt8(truncatingIfNeeded: (x + y) & 0xF0) | UInt8(truncatingIfNeeded: value >> UInt64((x % 8) * 8)) & 0x0F
            }
        }
        return [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + pngChunk("IHDR", ihdr) + pngChunk("IDAT", Archives.zlib(raw))
            + pngChunk("IEND", [])
    }

    /// A JPEG-shaped file: SOI, JFIF APP0, a quantisation table and frame header, then
    /// entropy-coded-looking random data (0xFF stuffed) and EOI.
    static func jpeg(targetSize: Int, rng: inout SplitMix64) -> [UInt8] {
        var out: [UInt8] = [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10] + Array("JFIF".utf8) + [0, 1, 1, 0, 0, 1, 0, 1, 0, 0]
        out += [0xFF, 0xDB, 0x00, 0x43, 0x00] + (0..<64).map { UInt8(1 + $0 % 50) }
        out += [0xFF, 0xC0, 0x00, 0x11, 0x08, 0x02, 0x00, 0x02, 0x00, 0x03, 0x01, 0x22, 0x00, 0x02, 0x11, 0x01, 0x03, 0x11, 0x01]
        out += [0xFF, 0xDA, 0x00, 0x0C, 0x03, 0x01, 0x00, 0x02, 0x11, 0x03, 0x11, 0x00, 0x3F, 0x00]
        out.reserveCapacity(targetSize + 16)
        while out.count < targetSize {
            let value = rng.next()
            for shift in stride(from: 0, to: 64, by: 8) {
                let byte = UInt8(truncatingIfNeeded: value >> UInt64(shift))
                out.append(byte)
                if byte == 0xFF { out.append(0x00) }
            }
        }
        out += [0xFF, 0xD9]
        return out
    }
}
