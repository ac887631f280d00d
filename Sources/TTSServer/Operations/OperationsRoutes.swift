import Foundation
import TTSCore

/// `GET /metrics` (Prometheus), `GET /healthz` (the process answers), `GET /readyz` (it can
/// serve speech: store, index, Redis, engine; 503 naming what is not ready), and `GET /`, a
/// short index of the endpoints.
struct OperationsRoutes: Sendable {
    let backend: any ServerBackend

    static let prometheusType = "text/plain; version=0.0.4; charset=utf-8"

    func metrics() async -> ServerResponse {
        let text = await backend.metricsExposition()
        return ServerResponse(status: 200, headers: [("Content-Type", OperationsRoutes.prometheusType)], body: .bytes(Data(text.utf8)))
    }

    func healthz() -> ServerResponse {
        .json(200, Data(#"{"status":"ok"}"#.utf8), headers: [("Cache-Control", "no-store")])
    }

    func readyz() async -> ServerResponse {
        let checks = await backend.readiness()
        let ready = checks.allSatisfy(\.ready)
        var object: [(String, JSONValue)] = [("ready", .bool(ready))]
        if let first = checks.first(where: { !$0.ready }) {
            object.append(("reason", .string("\(first.name): \(first.detail)")))
        }
        object.append(("checks", .array(checks.map {
            .object([("check", .string($0.name)), ("ready", .bool($0.ready)), ("detail", .string($0.detail))])
        })))
        var headers: [(name: String, value: String)] = [("Cache-Control", "no-store")]
        if !ready { headers.append(("Retry-After", "5")) }
        return .json(ready ? 200 : 503, Data(JSONValue.object(object).serializedUTF8()), headers: headers)
    }

    func index() -> ServerResponse {
        let text = """
        tts-repl serve: a text-to-speech cache over HTTP.

        GET  /                          the web console (browse, listen, say, curate)
        POST /v1/speech                 {"text": "Hello"} → audio/wav (Accept: application/json → the clip's fields)
        GET  /v1/clips?match=&voice=&lang=&engine=&model=&limit=&offset=
        GET  /v1/clips/{key or prefix}
        GET  /v1/blobs/{sha256}.wav     immutable audio (ETag, Range)
        POST /v1/audio/speech           OpenAI-compatible
        POST /v1beta/models/{model}:generateContent, /v1/models/{model}:generateContent   Gemini-compatible
        GET  /metrics  /healthz  /readyz

        """
        return ServerResponse(status: 200, headers: [("Content-Type", "text/plain; charset=utf-8")], body: .bytes(Data(text.utf8)))
    }
}
