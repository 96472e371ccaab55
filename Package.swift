// swift-tools-version: 6.2
import PackageDescription

// Shared dependencies, named once (as swift-nio does).
let argumentParser: Target.Dependency = .product(name: "ArgumentParser", package: "swift-argument-parser")
let logging: Target.Dependency = .product(name: "Logging", package: "swift-log")
let yams: Target.Dependency = .product(name: "Yams", package: "Yams")
// Exporter only (ScanCore and the Nagios check stay free of NIO).
let hummingbird: Target.Dependency = .product(name: "Hummingbird", package: "hummingbird")
let hummingbirdCore: Target.Dependency = .product(name: "HummingbirdCore", package: "hummingbird")
let hummingbirdTesting: Target.Dependency = .product(name: "HummingbirdTesting", package: "hummingbird")
let serviceLifecycle: Target.Dependency = .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")
let nioCore: Target.Dependency = .product(name: "NIOCore", package: "swift-nio")
let nioPosix: Target.Dependency = .product(name: "NIOPosix", package: "swift-nio")

let package = Package(
    name: "virus-scan-monitoring",
    products: [
        .library(name: "ScanCore", targets: ["ScanCore"]),
        .executable(name: "check_virus_scan", targets: ["check_virus_scan"]),
        .executable(name: "virus_scan_exporter", targets: ["exporter"]),
        .executable(name: "virus_scan_fixtures", targets: ["virus_scan_fixtures"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),  // already under Hummingbird; the Graphite client
    ],
    targets: [
        // C: libclamav (system library, compiles nothing) and the Linux calls Swift cannot import.
        .systemLibrary(name: "CClamAV", pkgConfig: "libclamav", providers: [.apt(["libclamav-dev"])]),
        .target(name: "CScanSupport"),
        // The forked scanning process (C only: see its header for why).
        .target(name: "CClamAVWorker", dependencies: ["CClamAV", "CScanSupport"]),

        // Core library
        .target(name: "ScanCore", dependencies: ["CClamAV", "CClamAVWorker", "CScanSupport", yams]),
        .target(name: "ScanCoreTestSupport", dependencies: ["ScanCore", "CScanSupport"]),
        // The option groups and argument parsers both executables share.
        .target(name: "ScanCoreCLI", dependencies: ["ScanCore", argumentParser]),

        // Executables (thin)
        .executableTarget(name: "check_virus_scan", dependencies: ["ScanCore", "ScanCoreCLI", argumentParser, logging]),
        .executableTarget(name: "exporter", dependencies: ["ScanCore", "ScanCoreCLI", argumentParser, logging, hummingbird, hummingbirdCore, serviceLifecycle, nioCore, nioPosix]),
        .executableTarget(name: "virus_scan_fixtures", dependencies: ["ScanCoreTestSupport", argumentParser]),

        // Benchmark drivers (not installed)
        .executableTarget(name: "snapshot_bench", dependencies: ["ScanCore"]),
        .executableTarget(name: "scan_bench", dependencies: ["ScanCore"]),
        .executableTarget(name: "clamd_bench", dependencies: ["ScanCore"]),

        // Tests
        .testTarget(name: "ScanCoreTests", dependencies: ["ScanCore", "ScanCoreTestSupport", "CClamAV"]),
        .testTarget(name: "CheckVirusScanTests", dependencies: ["check_virus_scan", "ScanCore", "ScanCoreCLI", "ScanCoreTestSupport", argumentParser]),
        .testTarget(name: "ExporterTests", dependencies: ["exporter", "ScanCore", "ScanCoreCLI", "ScanCoreTestSupport", argumentParser, logging, hummingbird, hummingbirdCore, hummingbirdTesting, serviceLifecycle, nioCore, nioPosix]),
    ],
    swiftLanguageModes: [.v6]
)

// STANDARD SETTINGS (the swift-metrics form): skip targets that compile no Swift.
for target in package.targets {
    switch target.type {
    case .regular, .test, .executable:
        var settings = target.swiftSettings ?? []
        settings.append(.enableUpcomingFeature("ExistentialAny"))
        settings.append(.enableUpcomingFeature("MemberImportVisibility"))
        target.swiftSettings = settings
    case .macro, .plugin, .system, .binary:
        break
    @unknown default:
        break
    }
}
