/// Every path the server answers, recognised from the request's path alone: its name (the
/// `route` label of the HTTP metrics, a fixed set so label values stay few), the API family
/// whose error shape it answers in, and the methods it takes.
public enum Route: Sendable, Equatable {
    case index
    case speech
    case clipList
    case clip(String)
    case blob(String)
    case metrics
    case healthz
    case readyz
    /// `POST /v1/audio/speech` (OpenAI's `audio.speech.create`).
    case openAISpeech
    /// `POST /v1beta|v1/models/{model}:generateContent` or `:streamGenerateContent`.
    case geminiGenerate(model: String, stream: Bool)
    /// A path under one of the APIs that names nothing here.
    case notFound(APIFamily)

    public init(path: String) {
        switch path {
        case "/v1", "/v1/": self = .index
        case "/v1/speech": self = .speech
        case "/v1/clips", "/v1/clips/": self = .clipList
        case "/metrics": self = .metrics
        case "/healthz": self = .healthz
        case "/readyz": self = .readyz
        case "/v1/audio/speech": self = .openAISpeech
        default:
            if let rest = path.dropPrefix("/v1/clips/"), !rest.isEmpty, !rest.contains("/") {
                self = .clip(rest)
            } else if let rest = path.dropPrefix("/v1/blobs/") {
                self = .blob(rest)
            } else if let rest = path.dropPrefix("/v1beta/models/") ?? path.dropPrefix("/v1/models/") {
                self = Route.gemini(rest)
            } else if path.hasPrefix("/v1/audio/") {
                self = .notFound(.openAI)
            } else if path.hasPrefix("/v1beta/") {
                self = .notFound(.gemini)
            } else {
                self = .notFound(.native)
            }
        }
    }

    /// `{model}:generateContent` → the model and whether it streams.
    private static func gemini(_ rest: String) -> Route {
        for (method, stream) in [(":generateContent", false), (":streamGenerateContent", true)] {
            if rest.hasSuffix(method) {
                let model = String(rest.dropLast(method.count))
                if !model.isEmpty && !model.contains("/") { return .geminiGenerate(model: model, stream: stream) }
            }
        }
        return .notFound(.gemini)
    }

    public var family: APIFamily {
        switch self {
        case .openAISpeech: .openAI
        case .geminiGenerate: .gemini
        case .notFound(let family): family
        default: .native
        }
    }

    /// The `route` label of `tts_http_requests_total`.
    public var label: String {
        switch self {
        case .index: "index"
        case .speech: "speech"
        case .clipList: "clips"
        case .clip: "clip"
        case .blob: "blob"
        case .metrics: "metrics"
        case .healthz: "healthz"
        case .readyz: "readyz"
        case .openAISpeech: "openai_speech"
        case .geminiGenerate: "gemini_generate"
        case .notFound: "not_found"
        }
    }

    /// Methods the route takes (`HEAD` wherever `GET` is taken); empty for `notFound`.
    public var methods: [String] {
        switch self {
        case .speech, .openAISpeech, .geminiGenerate: ["POST"]
        case .index, .clipList, .clip, .blob, .metrics, .healthz, .readyz: ["GET", "HEAD"]
        case .notFound: []
        }
    }

    /// Probes answer without a token, so an orchestrator's liveness check needs no secret.
    public var isOpen: Bool { self == .healthz }
}

extension String {
    func dropPrefix(_ prefix: String) -> String? {
        hasPrefix(prefix) ? String(dropFirst(prefix.count)) : nil
    }
}
