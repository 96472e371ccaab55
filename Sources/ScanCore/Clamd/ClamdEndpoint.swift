/// Where clamd listens: its unix socket (`LocalSocket`) or a TCP address (`TCPSocket`/`TCPAddr`).
public enum ClamdEndpoint: Sendable, Hashable, CustomStringConvertible {
    /// A unix socket path. The path must be shorter than 108 bytes (the size of `sun_path`).
    case unix(path: String)
    /// A TCP host name or address and port.
    case tcp(host: String, port: UInt16)

    /// The longest unix socket path `connect()` accepts, in bytes (`sun_path` less its NUL).
    public static let maximumSocketPathLength = 107

    /// Parses an endpoint as written in configuration and on the command line:
    /// - `/run/clamav/clamd.ctl` or `unix:/run/clamav/clamd.ctl`: a unix socket;
    /// - `HOST:PORT` (`127.0.0.1:3310`, `clamd.example.org:3310`) or `[V6]:PORT` (`[::1]:3310`),
    ///   optionally prefixed with `tcp:`.
    public init(parsing text: String) throws(ClamdError) {
        var rest = Substring(text)
        if rest.hasPrefix("unix:") {
            rest = rest.dropFirst(5)
            guard rest.hasPrefix("/") else {
                throw ClamdError(.invalidEndpoint, "clamd endpoint \"\(text)\": a unix socket path must be absolute")
            }
        } else if rest.hasPrefix("tcp:") {
            rest = rest.dropFirst(4)
        }
        if rest.hasPrefix("/") {
            let path = String(rest)
            guard path.utf8.count <= Self.maximumSocketPathLength else {
                throw ClamdError(
                    .invalidEndpoint,
                    "clamd socket path \(path) is \(path.utf8.count) bytes; unix sockets allow at most \(Self.maximumSocketPathLength): use a shorter path"
                )
            }
            self = .unix(path: path)
            return
        }
        let host: Substring
        let portText: Substring
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else {
                throw ClamdError(.invalidEndpoint, "clamd endpoint \"\(text)\": missing \"]\" after the IPv6 address")
            }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            guard after.hasPrefix(":") else {
                throw ClamdError(.invalidEndpoint, "clamd endpoint \"\(text)\": expected [ADDRESS]:PORT")
            }
            portText = after.dropFirst()
        } else {
            guard let colon = rest.lastIndex(of: ":"), !rest[..<colon].contains(":") else {
                throw ClamdError(
                    .invalidEndpoint,
                    "clamd endpoint \"\(text)\": expected a socket path, HOST:PORT or [IPV6]:PORT")
            }
            host = rest[..<colon]
            portText = rest[rest.index(after: colon)...]
        }
        guard !host.isEmpty else {
            throw ClamdError(.invalidEndpoint, "clamd endpoint \"\(text)\": the host is empty")
        }
        guard let port = UInt16(portText), port > 0 else {
            throw ClamdError(.invalidEndpoint, "clamd endpoint \"\(text)\": the port must be a number from 1 to 65535")
        }
        self = .tcp(host: String(host), port: port)
    }

    /// `unix:/run/clamav/clamd.ctl`, `tcp:127.0.0.1:3310` or `tcp:[::1]:3310`.
    public var description: String {
        switch self {
        case .unix(let path): "unix:\(path)"
        case .tcp(let host, let port): host.contains(":") ? "tcp:[\(host)]:\(port)" : "tcp:\(host):\(port)"
        }
    }

    /// Whether file descriptors can be passed (FILDES): only over a unix socket.
    public var canPassFileDescriptors: Bool {
        if case .unix = self { return true }
        return false
    }
}
