#if canImport(Glibc)
import Glibc
#endif

/// Every signature database in a ClamAV database directory (`/var/lib/clamav`): the containers
/// (`main`, `daily`, `bytecode`, … as `.cvd`, `.cld` or `.cud`) with their headers, the plain
/// custom databases with their signature counts, and the ignore-list entries.
public struct SignatureDatabaseInventory: Sendable {
    /// The kind of a database container file.
    public enum ContainerKind: String, Sendable, Hashable, CaseIterable {
        /// Signed, compressed: what freshclam downloads.
        case cvd
        /// Local copy freshclam keeps after applying incremental updates.
        case cld
        /// Unsigned container (libclamav loads it without checking a digital signature).
        case cud
    }

    /// A container file and its header.
    public struct Container: Sendable, Hashable {
        /// The file name (`daily.cld`).
        public var fileName: String
        /// The database name (`daily`).
        public var name: String
        public var kind: ContainerKind
        public var path: String
        public var header: CVDHeader
        /// The file's size in bytes.
        public var fileSize: Int64

        public init(fileName: String, name: String, kind: ContainerKind, path: String, header: CVDHeader, fileSize: Int64) {
            self.fileName = fileName
            self.name = name
            self.kind = kind
            self.path = path
            self.header = header
            self.fileSize = fileSize
        }
    }

    /// A plain (custom) database file.
    public struct PlainDatabase: Sendable, Hashable {
        /// The file name (`local.ndb`).
        public var fileName: String
        /// The format, i.e. the extension without the dot (`ndb`, `ign2`, `yara`).
        public var format: String
        public var path: String
        /// The signatures it holds (entries, for `.ign`/`.ign2`/`.fp`/`.sfp`/`.cfg`/`.ftm`).
        public var signatureCount: Int
        /// The file's size in bytes.
        public var fileSize: Int64
    }

    /// One ignore-list entry and the file it is in.
    public struct IgnoredSignature: Sendable, Hashable {
        public var fileName: String
        public var entry: IgnoreList.Entry

        public init(fileName: String, entry: IgnoreList.Entry) {
            self.fileName = fileName
            self.entry = entry
        }
    }

    /// The versions of the databases that libclamav loads from this directory: for each name, the
    /// newer of its `.cvd`/`.cld`/`.cud` files, as libclamav itself picks.
    public struct Versions: Sendable, Hashable {
        public var main: Int?
        public var daily: Int?
        public var bytecode: Int?
        /// The daily database's build time, epoch seconds.
        public var dailyBuildTimestamp: Int64?

        public init(main: Int? = nil, daily: Int? = nil, bytecode: Int? = nil, dailyBuildTimestamp: Int64? = nil) {
            self.main = main
            self.daily = daily
            self.bytecode = bytecode
            self.dailyBuildTimestamp = dailyBuildTimestamp
        }
    }

    /// The plain database formats this inventory lists (file extensions without the dot).
    public static let plainFormats: Set<String> = [
        "hdb", "hsb", "hdu", "hsu", "mdb", "msb", "mdu", "msu", "ndb", "ndu", "ldb", "ldu", "cdb", "idb", "gdb",
        "imp", "fp", "sfp", "ign", "ign2", "ftm", "cfg", "pdb", "wdb", "yar", "yara", "cbc", "crb", "pwdb",
        "info",
    ]

    /// Formats that list entries rather than detections: not added to ``totalSignatures``.
    public static let nonDetectingFormats: Set<String> = ["fp", "sfp", "ign", "ign2", "ftm", "cfg", "crb", "info"]

    /// The directory read.
    public var directory: String
    /// Containers, sorted by file name.
    public var containers: [Container]
    /// Plain databases, sorted by file name.
    public var plainDatabases: [PlainDatabase]
    /// Ignore-list entries from every `.ign2` and `.ign` file, in file-name then line order.
    public var ignoredSignatures: [IgnoredSignature]
    /// Files that look like databases but could not be read (a garbage or truncated header, an
    /// unreadable file): listed rather than failing the whole inventory.
    public var problems: [SignatureDatabaseError]

    public init(
        directory: String, containers: [Container], plainDatabases: [PlainDatabase],
        ignoredSignatures: [IgnoredSignature], problems: [SignatureDatabaseError]
    ) {
        self.directory = directory
        self.containers = containers
        self.plainDatabases = plainDatabases
        self.ignoredSignatures = ignoredSignatures
        self.problems = problems
    }

    /// The newest container named `name` (highest version; on a tie `.cld` over `.cvd`).
    public func newest(_ name: String) -> Container? {
        containers.filter { $0.name == name }.max { a, b in
            a.header.version != b.header.version ? a.header.version < b.header.version : a.kind == .cvd && b.kind != .cvd
        }
    }

    /// The daily database libclamav would load.
    public var daily: Container? { newest("daily") }
    /// The main database libclamav would load.
    public var main: Container? { newest("main") }
    /// The bytecode database libclamav would load.
    public var bytecode: Container? { newest("bytecode") }

    /// Versions of main, daily and bytecode, and the daily build time.
    public var versions: Versions {
        Versions(
            main: main?.header.version, daily: daily?.header.version, bytecode: bytecode?.header.version,
            dailyBuildTimestamp: daily?.header.buildTimestamp)
    }

    /// Signatures in the containers libclamav would load plus the detecting plain databases.
    public var totalSignatures: Int {
        let names = Set(containers.map(\.name))
        let inContainers = names.compactMap { newest($0)?.header.signatureCount }.reduce(0, +)
        let plain = plainDatabases.filter { !Self.nonDetectingFormats.contains($0.format) }.map(\.signatureCount)
        return inContainers + plain.reduce(0, +)
    }

    /// The distinct ignored signature names.
    public var ignoredSignatureNames: [String] {
        var seen = Set<String>()
        return ignoredSignatures.map(\.entry.signature).filter { seen.insert($0).inserted }
    }

    /// Reads every database in `directory` (not recursing: libclamav does not either). Hidden
    /// files and unknown extensions are skipped.
    ///
    /// - Throws: `.directoryUnreadable` when the directory cannot be listed. A single bad file is
    ///   recorded in ``problems`` instead.
    public static func read(directory: String) throws(SignatureDatabaseError) -> SignatureDatabaseInventory {
        try read(directory: directory, containersOnly: false)
    }

    /// With `containersOnly`, only the container headers are read (512 bytes each): what the
    /// engine needs for the versions, without reading hundreds of megabytes of plain databases.
    static func read(directory: String, containersOnly: Bool) throws(SignatureDatabaseError)
        -> SignatureDatabaseInventory
    {
        var names: [String] = []
        do {
            for entry in try DirectoryReader.entries(atPath: directory) where entry.name.first != UInt8(ascii: ".") {
                names.append(String(decoding: entry.name, as: UTF8.self))
            }
        } catch {
            throw SignatureDatabaseError.io(.directoryUnreadable, "open database directory", directory, errno: error.errno.rawValue)
        }
        names.sort()

        var containers: [Container] = []
        var plain: [PlainDatabase] = []
        var ignored: [IgnoredSignature] = []
        var problems: [SignatureDatabaseError] = []
        for fileName in names {
            guard let dot = fileName.lastIndex(of: "."), dot != fileName.startIndex else { continue }
            let format = fileName[fileName.index(after: dot)...].lowercased()
            let base = String(fileName[..<dot])
            let path = directory.hasSuffix("/") ? directory + fileName : directory + "/" + fileName
            do throws(SignatureDatabaseError) {
                if let kind = ContainerKind(rawValue: format) {
                    let (head, size) = try DatabaseFile.readHeader(path)
                    let header: CVDHeader
                    do throws(SignatureDatabaseError) { header = try CVDHeader(parsing: head) } catch {
                        throw error.at(path)
                    }
                    containers.append(
                        Container(fileName: fileName, name: base, kind: kind, path: path, header: header, fileSize: size))
                } else if plainFormats.contains(format), !containersOnly {
                    guard try DatabaseFile.isRegularFile(path) else { continue }
                    if format == "ign2" || format == "ign" {
                        let text = try DatabaseFile.readText(path)
                        let list = IgnoreList(parsing: text)
                        ignored += list.entries.map { IgnoredSignature(fileName: fileName, entry: $0) }
                        let size = Int64(text.utf8.count)
                        plain.append(
                            PlainDatabase(
                                fileName: fileName, format: format, path: path, signatureCount: list.entries.count,
                                fileSize: size))
                    } else {
                        let (count, size) = try DatabaseFile.countSignatures(path, format: format)
                        plain.append(
                            PlainDatabase(
                                fileName: fileName, format: format, path: path, signatureCount: count, fileSize: size))
                    }
                }
            } catch {
                problems.append(error)
            }
        }
        return SignatureDatabaseInventory(
            directory: directory, containers: containers, plainDatabases: plain, ignoredSignatures: ignored,
            problems: problems)
    }
}

/// The file reads the inventory needs (open/read/fstat, no Foundation).
enum DatabaseFile {
    private static func open(_ path: String) throws(SignatureDatabaseError) -> (fd: Int32, size: Int64) {
        let fd: Int32
        do { fd = try openRegularFile(path) } catch {
            if error == .notRegularFile {
                throw SignatureDatabaseError(.fileUnreadable, "cannot open \(path): \(error)", path: path, cause: error)
            }
            throw SignatureDatabaseError.io(.fileUnreadable, "open", path, errno: error.rawValue)
        }
        switch Sys.fstat(fd, path: path) {
        case .success(let st): return (fd, Int64(st.st_size))
        case .failure(let failure):
            _ = Sys.close(fd, path: path)
            throw SignatureDatabaseError.io(.fileUnreadable, "stat", path, errno: failure.errno.rawValue)
        }
    }

    static func isRegularFile(_ path: String) throws(SignatureDatabaseError) -> Bool {
        switch Sys.statFollowing(path) {
        case .success(let st): return (st.st_mode & S_IFMT) == S_IFREG
        case .failure(let failure): throw SignatureDatabaseError.io(.fileUnreadable, "stat", path, errno: failure.errno.rawValue)
        }
    }

    /// Reads chunks of up to 1 MiB, handing each to `body`; returns the file size.
    private static func chunks(
        _ path: String, limit: Int = .max, _ body: (UnsafeRawBufferPointer) -> Bool
    ) throws(SignatureDatabaseError) -> Int64 {
        let (fd, size) = try open(path)
        defer { _ = Sys.close(fd, path: path) }
        let capacity = min(1 << 20, max(limit, 1))
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 16)
        defer { buffer.deallocate() }
        var total = 0
        while total < limit {
            let n: Int
            switch Sys.read(fd, buffer.baseAddress!, min(capacity, limit - total), path: path) {  // EINTR retried there
            case .success(let count): n = count
            case .failure(let failure): throw SignatureDatabaseError.io(.fileUnreadable, "read", path, errno: failure.errno.rawValue)
            }
            if n == 0 { break }
            total += n
            if !body(UnsafeRawBufferPointer(rebasing: buffer[0..<n])) { break }
        }
        return size
    }

    /// The first 512 bytes (fewer if the file is shorter) and the file size.
    static func readHeader(_ path: String) throws(SignatureDatabaseError) -> ([UInt8], Int64) {
        var head: [UInt8] = []
        let size = try chunks(path, limit: CVDHeader.size) { chunk in
            head.append(contentsOf: chunk)
            return true
        }
        return (head, size)
    }

    static func readText(_ path: String) throws(SignatureDatabaseError) -> String {
        var bytes: [UInt8] = []
        _ = try chunks(path) { chunk in
            bytes.append(contentsOf: chunk)
            return true
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func countSignatures(_ path: String, format: String) throws(SignatureDatabaseError) -> (Int, Int64) {
        var counter = SignatureLineCounter(rule: SignatureLineCounter.rule(forFormat: format))
        let size = try chunks(path) { chunk in
            counter.feed(chunk)
            return true
        }
        return (counter.finish(), size)
    }
}
