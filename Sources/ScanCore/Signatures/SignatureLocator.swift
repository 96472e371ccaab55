#if canImport(Glibc)
import Glibc
#endif
import CClamAV

/// `db-info --signature NAME`: which database file of a directory holds a signature, and that
/// file's build time — what on-call asks before ignoring one.
///
/// Plain databases (`.ndb`, `.hdb`, `.ldb`, `.ign2`, …) are read as they are; containers (`.cvd`,
/// `.cld`, `.cud`: a header, then a tar or tar.gz of plain databases) are unpacked by libclamav
/// (`cl_cvdunpack`, without verifying: only names are read) into a temp dir that is removed after.
/// A line holds the name when one of its fields (split at `:` `;` `=`, blanks and `{`) is the name:
/// the name field of every text format, and of `.ign2` lines (which say the name is ignored).
/// A name as a scan reports it from an unsigned database (`….UNOFFICIAL`) is looked up as written.
public enum SignatureLocator {
    public struct Location: Sendable, Hashable {
        /// The file in the database directory (`daily.cld`, `local.ndb`).
        public var fileName: String
        public var path: String
        /// The member of a container the line is in (`daily.ndb`); nil for a plain file.
        public var member: String?
        /// The container's header (build time, version); nil for a plain file.
        public var header: CVDHeader?
        /// The file's modification time (epoch seconds): a plain file's only date.
        public var modified: Double
        /// The line, as written (cut at 200 characters).
        public var line: String
        /// An ignore list (`.ign2`, `.ign`) or false-positive list (`.fp`, `.sfp`): the name is not detected by it.
        public var isIgnoreEntry: Bool
    }

    /// The name as databases write it (a scan adds `.UNOFFICIAL` to names from unsigned files).
    public static func writtenName(_ name: String) -> String {
        name.hasSuffix(".UNOFFICIAL") ? String(name.dropLast(".UNOFFICIAL".count)) : name
    }

    /// Every line of every database in `directory` naming `name`.
    public static func find(_ name: String, directory: String) throws(SignatureDatabaseError) -> [Location] {
        let wanted = writtenName(name)
        guard !wanted.isEmpty, !wanted.contains(where: { $0 == "\n" || $0 == ":" || $0 == ";" }) else {
            throw SignatureDatabaseError(.invalidSignatureName, "'\(name)' is not a signature name", path: directory)
        }
        let inventory = try SignatureDatabaseInventory.read(directory: directory)
        var found: [Location] = []
        for database in inventory.plainDatabases.sorted(by: { $0.fileName < $1.fileName }) {
            let text = try DatabaseFile.readText(database.path)
            for line in matches(text, wanted) {
                found.append(Location(fileName: database.fileName, path: database.path, member: nil, header: nil,
                                      modified: modificationTime(database.path), line: line,
                                      isIgnoreEntry: ["ign", "ign2", "fp", "sfp"].contains(database.format)))
            }
        }
        for container in inventory.containers.sorted(by: { $0.fileName < $1.fileName }) {
            for (member, line) in try searchContainer(container.path, wanted) {
                let format = member.split(separator: ".").last.map(String.init) ?? ""
                found.append(Location(fileName: container.fileName, path: container.path, member: member, header: container.header,
                                      modified: modificationTime(container.path), line: line,
                                      isIgnoreEntry: ["ign", "ign2", "fp", "sfp"].contains(format)))
            }
        }
        return found
    }

    /// The lines of `text` with a field equal to `name`.
    static func matches(_ text: String, _ name: String) -> [String] {
        var lines: [String] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) where line.contains(name) {
            let fields = line.split(whereSeparator: { ":;= \t{\r".contains($0) })
            if fields.contains(where: { $0 == name }) { lines.append(String(line.prefix(200))) }
        }
        return lines
    }

    private static func modificationTime(_ path: String) -> Double {
        guard case .success(let info) = Sys.statFollowing(path) else { return 0 }
        return Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9
    }

    /// Unpacks a container with libclamav into a temp dir and searches its members.
    private static func searchContainer(_ path: String, _ name: String) throws(SignatureDatabaseError) -> [(String, String)] {
        do { try LibClamAV.initialise() } catch {
            throw SignatureDatabaseError(.fileUnreadable, "cannot unpack \(path): \(error.message)", path: path)
        }
        let base = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        let directory: String
        switch Sys.mkdtemp("\(base)/virus_scan-unpack.XXXXXX") {
        case .success(let made): directory = made
        case .failure(let failure): throw SignatureDatabaseError.io(.fileUnreadable, "mkdtemp", base, errno: failure.errno.rawValue)
        }
        defer { removeFlat(directory) }
        let rc = LibClamAV.guarded { cl_cvdunpack(path, directory, true) }
        guard rc == CL_SUCCESS else {
            throw SignatureDatabaseError(.fileUnreadable, "cannot unpack \(path) (cl_cvdunpack: \(LibClamAV.text(rc)))", path: path)
        }
        var found: [(String, String)] = []
        for member in listFlat(directory).sorted() {
            let text = try DatabaseFile.readText(directory + "/" + member)
            for line in matches(text, name) { found.append((member, line)) }
        }
        return found
    }

    private static func listFlat(_ directory: String) -> [String] {
        guard let entries = try? DirectoryReader.entries(atPath: directory) else { return [] }
        return entries.filter { $0.kind == .regular }.map { String(decoding: $0.name, as: UTF8.self) }
    }

    private static func removeFlat(_ directory: String) {
        for entry in (try? DirectoryReader.entries(atPath: directory)) ?? [] {
            _ = Sys.unlink(directory + "/" + String(decoding: entry.name, as: UTF8.self))
        }
        _ = Sys.rmdir(directory)
    }
}
