#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization

/// Scanning given files and trees (`scan PATH…`), clamdscan-style.
public enum PathScan {
    public struct Result: Sendable, Hashable {
        /// The path as displayed.
        public var path: String
        public var verdict: ScanVerdict
    }

    /// Expands `paths` (files; directories walked without following symlinks; a symlink named
    /// on the command line is followed, as clamdscan does) and scans every regular file.
    public static func run(_ paths: [String], scanner: any FileScanner, jobs: Int) -> [Result] {
        var files: [String] = []
        var results: [Result] = []
        for path in paths {
            let info: Glibc.stat
            switch Sys.statFollowing(path) {
            case .success(let stat): info = stat
            case .failure(let failure):
                results.append(Result(path: path, verdict: .error(message: "cannot open: \(failure.errno)")))
                continue
            }
            if info.st_mode & S_IFMT == S_IFDIR {
                let base = path.hasSuffix("/") ? String(path.dropLast()) : path
                guard let walked = try? DirectoryWalker(threads: 2).walk(root: path, makeVisitor: { DrainCollector() }) else {
                    results.append(Result(path: path, verdict: .error(message: "cannot read the directory")))
                    continue
                }
                for collector in walked {
                    files += collector.files.map { base + "/" + PathEscaping.display($0.path) }
                    results += collector.unreadable.map {
                        Result(path: base + "/" + PathEscaping.display($0.path), verdict: .error(message: "cannot read: \(errnoText($0.errno))"))
                    }
                }
            } else if info.st_mode & S_IFMT == S_IFREG {
                files.append(path)
            } else {
                results.append(Result(path: path, verdict: .error(message: "not a regular file")))
            }
        }
        let list = files.sorted()
        let scanned = Mutex<[Result]>([])
        let next = ManagedCounter()
        DispatchQueue.concurrentPerform(iterations: max(1, min(jobs, list.count))) { _ in
            while true {
                let index = next.next()
                if index >= list.count { break }
                let verdict = scan(list[index], scanner: scanner, followTopLevel: paths.contains(list[index]))
                scanned.withLock { $0.append(Result(path: list[index], verdict: verdict)) }
            }
        }
        return (results + scanned.withLock { $0 }).sorted { $0.path < $1.path }
    }

    static func scan(_ path: String, scanner: any FileScanner, followTopLevel: Bool) -> ScanVerdict {
        let file: FileDescriptor
        do throws(SystemError) {
            file = try FileDescriptor.open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | (followTopLevel ? 0 : O_NOFOLLOW))
        } catch {
            return .error(message: "cannot open: \(error.errno)")
        }
        defer { try? file.close() }  // also keeps `file` alive while its descriptor is scanned
        _ = Sys.setStatusFlags(file.rawValue, O_RDONLY, path: path)
        return scanner.scan(fileDescriptor: file.rawValue, name: path)
    }

    /// `PATH: OK`, `PATH: NAME FOUND`, `PATH: MESSAGE ERROR` (clamdscan's forms).
    public static func line(_ result: Result) -> String {
        switch result.verdict {
        case .clean: "\(result.path): OK"
        case .infected(let signature): "\(result.path): \(signature) FOUND"
        case .error(let message): "\(result.path): \(message) ERROR"
        }
    }
}

/// A shared counter for work distribution.
final class ManagedCounter: @unchecked Sendable {
    private var value = 0
    private let lock = NSLock()
    func next() -> Int {
        lock.lock()
        defer { lock.unlock() }
        value += 1
        return value - 1
    }
}
