import Foundation
import TTSCore

/// What the server's routes speak through: speech, and the store's catalog.
public typealias ServerBackend = SpeechBackend & CacheCatalog

/// Sends each request to its route, after the token check, and records each finished exchange
/// (access log line, HTTP metrics). Blob downloads and probes are answered on the daemon's
/// thread; everything that may wait (speech, SQLite listings, metrics) runs as a task.
final class ServerRouter: HTTPExchangeHandler {
    let backend: any ServerBackend
    let access: AccessPolicy
    let faces: CompatibilityFaces
    /// The web console's page and its curation endpoints, when the server runs with one.
    let console: ConsoleRoutes?
    let logger: Logger
    private let httpMetrics: HTTPMetrics
    private let native: NativeRoutes
    private let operations: OperationsRoutes

    init(backend: any ServerBackend, access: AccessPolicy, faces: CompatibilityFaces, console: ConsoleRoutes? = nil,
         logger: Logger) {
        self.backend = backend
        self.access = access
        self.faces = faces
        self.console = console
        self.logger = logger
        httpMetrics = HTTPMetrics(registry: backend.metrics)
        native = NativeRoutes(backend: backend)
        operations = OperationsRoutes(backend: backend)
    }

    func answerAtOnce(_ request: ServerRequest) -> ServerResponse? {
        if console != nil {
            // The page itself needs no token (it asks for one); its API calls do.
            if let page = ConsoleRoutes.page(request) { return page }
            if ConsoleRoutes.claims(request) { return access.admits(request) ? nil : unauthorized(.native) }
        }
        let route = Route(path: request.path)
        if let refusal = refusal(request, route) { return refusal }
        switch route {
        case .blob(let name): return native.blob(name, request)  // nil: a conversion, answered by respond
        case .healthz: return operations.healthz()
        case .index: return operations.index()
        case .notFound(let family):
            return APIError(status: 404, "nothing at \(request.path): see GET /v1 for the endpoints", kind: "not_found").response(family)
        default: return nil
        }
    }

    func respond(_ request: ServerRequest) async -> ServerResponse {
        if let console, let answer = await console.handle(request) { return answer }
        let route = Route(path: request.path)
        switch route {
        case .speech: return await native.speech(request)
        case .clipList: return await native.clipList(request)
        case .clip(let word): return await native.clip(word)
        case .metrics: return await operations.metrics()
        case .readyz: return await operations.readyz()
        case .openAISpeech:
            guard let face = faces.openAISpeech else { return notServed(route) }
            return await face(request)
        case .geminiGenerate(let model, let stream):
            guard let face = faces.geminiGenerate else { return notServed(route) }
            return await face(request, model, stream)
        case .blob(let name): return await native.convertedBlob(name, request)
        case .index, .healthz, .notFound:
            // Answered at once; reached only if that changes.
            return answerAtOnce(request) ?? APIError(status: 500, "no handler for \(request.path)").response(route.family)
        }
    }

    func bodyTooLarge(_ request: ServerRequest, limit: Int) -> ServerResponse {
        APIError(status: 413, "the request body is larger than \(limit / 1024) KiB, the limit of this server: send shorter text, or split it into several requests",
                 kind: "validation").response(Route(path: request.path).family)
    }

    func finished(_ exchange: FinishedExchange) {
        let route = Route(path: exchange.path)
        httpMetrics.record(route: route.label, status: exchange.status, seconds: exchange.seconds)
        var fields: [(String, JSONValue)] = [
            ("method", .string(exchange.method)), ("path", .string(exchange.path)), ("status", .int(exchange.status)),
            ("bytes", .int(exchange.bytes)), ("tier", exchange.tier.map { .string($0) } ?? .null),
            ("ms", .double((exchange.seconds * 1_000_000).rounded() / 1000)), ("client", .string(exchange.clientAddress)),
        ]
        if !exchange.completed { fields.append(("completed", false)) }
        logger.info("http", fields)
    }

    /// A wrong method (405) or a missing or wrong token (401), in the route's shape.
    private func refusal(_ request: ServerRequest, _ route: Route) -> ServerResponse? {
        if !route.methods.isEmpty && !route.methods.contains(request.method) {
            var answer = APIError(status: 405, "\(request.method) is not accepted at \(request.path); use \(route.methods.joined(separator: " or "))")
                .response(route.family)
            answer.headers.append(("Allow", route.methods.joined(separator: ", ")))
            return answer
        }
        if !route.isOpen && !access.admits(request) { return unauthorized(route.family) }
        return nil
    }

    private func unauthorized(_ family: APIFamily) -> ServerResponse {
        APIError(status: 401, "a valid token is needed: send Authorization: Bearer TOKEN (or x-goog-api-key: TOKEN) with one of the server's TTS_SERVE_TOKENS",
                 kind: "auth").response(family)
    }

    private func notServed(_ route: Route) -> ServerResponse {
        APIError(status: 501, "this server was built without the \(route.family == .openAI ? "OpenAI" : "Gemini")-compatible endpoint")
            .response(route.family)
    }
}
