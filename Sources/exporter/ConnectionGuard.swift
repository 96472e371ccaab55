import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTPTypes
import ServiceLifecycle

#if canImport(Glibc)
import Glibc
#endif

/// Closes a connection that has not delivered a complete request head within `timeout` of being
/// accepted, or of the end of its previous response (keep-alive): a client trickling its request
/// line one byte a second, or one that connects and sends nothing, holds a connection slot for at
/// most `timeout`. (Hummingbird's idle timeout counts from the last *parsed* part, which a trickled
/// head never produces until it is complete, and it is disarmed while a response is in progress.)
final class RequestHeadDeadline: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    let timeout: TimeAmount
    private var deadline: Scheduled<Void>?
    /// Request heads read whose response has not ended yet (more than one when pipelined).
    private var outstanding = 0

    init(timeout: TimeAmount) {
        self.timeout = timeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { arm(context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        disarm()
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        disarm()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head(_) = unwrapInboundIn(data) {
            outstanding += 1
            disarm()
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end(_) = unwrapOutboundIn(data) {
            outstanding = max(0, outstanding - 1)
            if outstanding == 0 { arm(context) }
        }
        context.write(data, promise: promise)
    }

    private func arm(_ context: ChannelHandlerContext) {
        disarm()
        deadline = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) {
            context.close(promise: nil)
        }
    }

    private func disarm() {
        deadline?.cancel()
        deadline = nil
    }
}

/// The connection cap, from the process's descriptor limit.
///
/// Every connection costs one descriptor; the collectors need their own (the directory walks hold
/// one per directory level and thread, clamd one socket, the database and state readers one file
/// each), and so do the listener, the log and the runtime. At start the soft `RLIMIT_NOFILE` is
/// raised towards the hard limit (to at most `ceiling + reserve`), and the cap is the soft limit
/// minus `reserve`, at most `ceiling` (which keeps the memory of a full house bounded: measured at
/// about 10 KiB a connection, see the README).
enum ConnectionLimit {
    static let ceiling = 4096

    /// Descriptors kept back for everything but connections.
    static func reserve(snapshotThreads: Int) -> Int { 64 + 32 * max(1, snapshotThreads) }

    /// The soft limit after raising it (the hard limit permitting), and the cap it allows.
    static func derive(snapshotThreads: Int) -> (softLimit: Int, cap: Int) {
        let reserve = reserve(snapshotThreads: snapshotThreads)
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return (1024, max(8, 1024 - reserve)) }
        let wanted = rlim_t(ceiling + reserve)
        if limit.rlim_cur < wanted {
            var raised = limit
            raised.rlim_cur = limit.rlim_max == rlim_t.max ? wanted : min(wanted, limit.rlim_max)
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        let soft = limit.rlim_cur == rlim_t.max ? Int.max : Int(clamping: limit.rlim_cur)
        return (soft, min(ceiling, max(8, soft - reserve)))
    }
}

/// 405 with an `Allow` header for a method other than GET or HEAD on a path the exporter serves
/// (every other path stays 404). Added first, so it sees every request.
struct MethodNotAllowedMiddleware<Context: RequestContext>: RouterMiddleware {
    /// The paths served (as the request's path: `/metrics`, `/`).
    let paths: Set<String>
    static var allowed: String { "GET, HEAD" }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.method != .get, request.method != .head, paths.contains(request.uri.path) else {
            return try await next(request, context)
        }
        return Response(
            status: .methodNotAllowed,
            headers: [.allow: Self.allowed, .contentType: "text/plain; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: "\(request.method.rawValue) is not allowed here; use GET or HEAD.\n")))
    }
}

/// The last resort of a shutdown: once SIGTERM (or SIGINT) has started the graceful shutdown, the
/// process exits after `limit` even if something (a collector stuck in a system call) still holds
/// it. A plain thread, not a task or a Dispatch queue, so that nothing it needs can be starved.
struct ShutdownBackstop: Service {
    let limit: Duration
    let logger: Logger

    func run() async throws {
        try? await gracefulShutdown()
        Self.seconds = Int32(limit.components.seconds)
        Self.logger = logger
        var thread = pthread_t()
        _ = pthread_create(&thread, nil, { _ in
            sleep(UInt32(ShutdownBackstop.seconds))
            ShutdownBackstop.logger?.error("shutdown did not finish in time (a collector is stuck in a system call); exiting now")
            _exit(0)
        }, nil)
        pthread_detach(thread)
    }

    nonisolated(unsafe) private static var seconds: Int32 = 4
    nonisolated(unsafe) private static var logger: Logger?
}
