import ScanCore

/// Several tasks scanning the same files at once, each taking every other file per round (shifted
/// by round and task, so that every file is scanned by several tasks at the same time).
enum ConcurrentScans {
    /// Returns the number of scans and "path: verdict" for every verdict that differed from the
    /// expected one.
    static func run(threads: Int, rounds: Int, cases: [(path: String, expected: ScanVerdict)],
                    scan: @escaping @Sendable (String) -> ScanVerdict) async -> (scans: Int, mismatches: [String]) {
        await withTaskGroup(of: (scans: Int, mismatches: [String]).self) { group in
            for task in 0..<threads {
                group.addTask {
                    var scans = 0
                    var mismatches: [String] = []
                    for round in 0..<rounds {
                        for (index, item) in cases.enumerated() where (index + round + task) % 2 == 0 {
                            let verdict = scan(item.path)
                            scans += 1
                            if verdict != item.expected { mismatches.append("\(item.path): \(verdict)") }
                        }
                    }
                    return (scans, mismatches)
                }
            }
            var total = (scans: 0, mismatches: [String]())
            for await result in group {
                total.scans += result.scans
                total.mismatches += result.mismatches
            }
            return total
        }
    }
}
