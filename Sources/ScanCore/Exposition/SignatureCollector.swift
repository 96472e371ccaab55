/// The `signatures` collector: the signature databases on disk (freshclam's directory).
///
/// For each database libclamav would load (the newest `.cvd`/`.cld`/`.cud` of each name):
/// `clamav_database_version{database,source="disk"}`, `clamav_database_build_timestamp_seconds{database,source="disk"}`
/// and `clamav_database_signatures{database}`; `clamav_signatures{source="disk"}`, what they hold in all. A file that cannot be read fails the collector but the
/// others are still reported; an unreadable directory fails it with nothing reported.
public struct SignatureCollector: Collector {
    public let name = "signatures"
    public let directory: String

    public init(directory: String) {
        self.directory = directory
    }

    public func collect(now: Double) async -> CollectorResult {
        let directory = self.directory
        let read: Result<SignatureDatabaseInventory, SignatureDatabaseError> = await runBlocking {
            do throws(SignatureDatabaseError) { return .success(try SignatureDatabaseInventory.read(directory: directory)) } catch {
                return .failure(error)
            }
        }
        switch read {
        case .failure(let error):
            return .failure("\(error)")
        case .success(let inventory):
            let families = Self.families(inventory)
            return CollectorResult(families: families, success: inventory.problems.isEmpty, problems: inventory.problems.map { "\($0)" })
        }
    }

    /// The help of `clamav_signatures`, which the clamd collector fills too (source=loaded).
    public static let signaturesHelp = "Signatures that detect: in the databases on disk libclamav would load (source=disk) or loaded in clamd (source=loaded, when VERSION reports it)."

    public static func families(_ inventory: SignatureDatabaseInventory) -> [MetricFamily] {
        let names = Array(Set(inventory.containers.map(\.name))).sorted()
        let newest = names.compactMap { inventory.newest($0) }
        func disk(_ c: SignatureDatabaseInventory.Container) -> [Label] { [Label("database", c.name), Label("source", "disk")] }
        return [
            .gauge(
                "clamav_database_version", help: "Signature database version: on disk (source=disk) or loaded in clamd (source=loaded, daily only).",
                newest.map { (disk($0), Double($0.header.version)) }),
            .gauge(
                "clamav_database_build_timestamp_seconds",
                help: "Unix time the signature database was built: on disk (source=disk) or loaded in clamd (source=loaded, daily only).",
                newest.compactMap { c in c.header.buildTimestamp.map { (disk(c), Double($0)) } }),
            .gauge(
                "clamav_database_signatures", help: "Signatures in the database on disk (from its header).",
                newest.map { ([Label("database", $0.name)], Double($0.header.signatureCount)) }),
            .gauge(
                "clamav_signatures", help: Self.signaturesHelp,
                [([Label("source", "disk")], Double(inventory.totalSignatures))]),
        ]
    }
}
