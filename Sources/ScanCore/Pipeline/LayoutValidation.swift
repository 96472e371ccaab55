#if canImport(Glibc)
import Glibc
#endif
import Yams

/// Layout validation at load: a layout that could make `drain` delete an upload, move a file
/// deeper on every run or drain a directory outside the pipeline is refused before any command
/// touches a file, with one error naming the key.
///
/// - Lexical (``PipelineLayout/parse(config:source:rootOverride:)``, pure): no `..` component in any
///   path; every queue directory distinct from every other queue and outcome tree; a queue's clean
///   and infected trees distinct; no tree inside another. Queues may share an outcome tree (the same
///   path for the same role: SafeMover's temp names carry the queue's name).
/// - On disk (``PipelineLayout/load(configFile:root:stateDirectory:)``): the same, after resolving
///   symlinks (realpath of the longest existing prefix), and no tree written relative to the root
///   (or implied by the standard layout) resolving outside the root. A tree written as an absolute
///   path may be anywhere, on purpose.
/// - Keys: unknown YAML keys are refused, with the nearest known key suggested.
enum LayoutValidation {
    /// One tree of the layout: which key it comes from, its path, whether it was written absolute.
    struct Tree {
        enum Role: Equatable { case queue, outcome(Outcome) }
        var label: String
        var path: String
        var role: Role
        var absolute: Bool
    }

    /// The trees of a layout, in order: each queue's incoming, clean, infected.
    static func trees(_ layout: PipelineLayout, absolute: [String: Bool] = [:]) -> [Tree] {
        layout.queues.flatMap { queue in
            [("incoming", queue.incoming, Tree.Role.queue), ("clean", queue.clean, .outcome(.clean)),
             ("infected", queue.infected, .outcome(.infected))].map { key, path, role in
                let label = "queues[\(queue.name)].\(key)"
                return Tree(label: label, path: normalize(path), role: role, absolute: absolute[label] ?? false)
            }
        }
    }

    /// `//` and `.` components removed, no trailing slash.
    static func normalize(_ path: String) -> String {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true).filter { $0 != "." }
        return (path.hasPrefix("/") ? "/" : "") + parts.joined(separator: "/")
    }

    static func hasDotDot(_ path: String) -> Bool {
        path.split(separator: "/", omittingEmptySubsequences: true).contains("..")
    }

    /// Whether `inner` is strictly below `outer`.
    static func isInside(_ inner: String, _ outer: String) -> Bool {
        if outer == "/" { return inner != "/" }
        return inner.hasPrefix(outer + "/")
    }

    /// The first problem between the trees, as a sentence naming the later tree's key; `resolved`
    /// gives each tree's real path (nil: compare the paths as written).
    static func conflict(_ trees: [Tree], resolved: [String]? = nil) -> String? {
        for (index, tree) in trees.enumerated() {
            let path = resolved?[index] ?? tree.path
            let shown = resolved == nil ? "\(tree.label) (\(tree.path))" : "\(tree.label) (\(tree.path)) resolves to \(path),"
            for (otherIndex, other) in trees[..<index].enumerated() {
                let otherPath = resolved?[otherIndex] ?? other.path
                if path == otherPath {
                    // The same outcome tree for the same role of several queues is fine.
                    if tree.role == other.role, tree.role != .queue { continue }
                    return "\(shown) \(resolved == nil ? "is " : "")the same directory as \(other.label)"
                }
                if isInside(path, otherPath) {
                    return resolved == nil ? "\(shown) is inside \(other.label) (\(otherPath))"
                        : "\(shown) inside \(other.label) (\(otherPath))"
                }
                if isInside(otherPath, path) {
                    return resolved == nil ? "\(shown) contains \(other.label) (\(otherPath))"
                        : "\(shown) containing \(other.label) (\(otherPath))"
                }
            }
        }
        return nil
    }

    /// The lexical checks of a parsed layout.
    static func checkLexically(_ layout: PipelineLayout, absolute: [String: Bool]) -> String? {
        conflict(trees(layout, absolute: absolute))
    }

    /// The checks on disk: symlinks resolved, nothing written relative resolving outside the root.
    static func checkOnDisk(_ layout: PipelineLayout, absolute: [String: Bool]) -> String? {
        let trees = trees(layout, absolute: absolute)
        let root = realPath(normalize(layout.root))
        let resolved = trees.map { realPath($0.path) }
        for (tree, path) in zip(trees, resolved) where !tree.absolute && path != root && !isInside(path, root) {
            return "\(tree.label) (\(tree.path)) resolves to \(path), outside the root \(root); write it as an absolute path if that is intended"
        }
        return conflict(trees, resolved: resolved)
    }

    /// realpath(3) of the longest existing prefix of `path`, with the rest appended.
    static func realPath(_ path: String) -> String {
        if let resolved = realpath(path, nil) {
            defer { free(resolved) }
            return String(cString: resolved)
        }
        guard let slash = path.lastIndex(of: "/"), path != "/" else { return path }
        let parent = slash == path.startIndex ? "/" : String(path[..<slash])
        let base = realPath(parent)
        let name = path[path.index(after: slash)...]
        return base == "/" ? "/" + name : base + "/" + name
    }

    // MARK: Keys

    /// Unknown keys of the config, top level and in each queue, with the nearest known key.
    static func checkKeys(_ text: String) -> String? {
        guard let node = try? Yams.compose(yaml: text), let top = node.mapping else { return nil }
        for (key, value) in top {
            guard let name = key.string else { continue }
            if !ConfigKeys.top.contains(name) { return unknown(name, in: nil, known: ConfigKeys.top) }
            guard name == "queues", let queues = value.sequence else { continue }
            for queue in queues {
                guard let fields = queue.mapping else { continue }
                let queueName = fields["name"]?.string ?? "?"
                for (field, _) in fields {
                    guard let fieldName = field.string else { continue }
                    if !ConfigKeys.queue.contains(fieldName) {
                        return unknown(fieldName, in: "queues[\(queueName)]", known: ConfigKeys.queue)
                    }
                }
            }
        }
        return nil
    }

    private static func unknown(_ key: String, in place: String?, known: [String]) -> String {
        let nearest = known.min { distance(key, $0) < distance(key, $1) } ?? ""
        return "unknown key '\(key)'\(place.map { " in \($0)" } ?? "") (did you mean '\(nearest)'?)"
    }

    /// Levenshtein distance.
    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a.utf8), b = Array(b.utf8)
        guard !a.isEmpty else { return b.count }
        guard !b.isEmpty else { return a.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}
