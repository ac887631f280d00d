import Foundation
import TTSCore
import TTSServer
import TTSService

/// `serve`: the cache as an HTTP service, until Ctrl-C or SIGTERM.
let serveCommands: [Command] = [
    Command("serve", group: .operations,
            summary: "Serve the cache over HTTP (native API, OpenAI- and Gemini-compatible endpoints, metrics) until Ctrl-C or SIGTERM",
            options: [
                .text("listen", "ADDR:PORT", help: "where to listen, default \(Setting.serveListen.name); port 0 picks a free one"),
                .text("port-file", "FILE", completion: .paths, help: "write the port actually bound to FILE"),
                .integer("threads", "N", 1...64, default: 2, help: "server threads; a request waiting for the engine holds none"),
                .duration("grace", 0...86_400, default: 10, help: "on SIGTERM or Ctrl-C: let requests in flight finish for up to S seconds"),
                .text("tls-cert", "FILE", completion: .paths, help: "serve HTTPS with this PEM certificate chain (with --tls-key)"),
                .text("tls-key", "FILE", completion: .paths, help: "the PEM private key of --tls-cert"),
                .flag("insecure-no-auth", help: "allow a non-loopback address without \(Setting.serveTokens.name), only behind a proxy that checks clients"),
            ],
            examples: ["serve", "serve --listen 0.0.0.0:8080   (needs TTS_SERVE_TOKENS)",
                       "serve --listen 127.0.0.1:0 --port-file /tmp/tts.port",
                       "serve --tls-cert cert.pem --tls-key key.pem"],
            run: serve),
]

@Sendable func serve(_ session: inout Session, _ context: CommandContext, _ arguments: ParsedArguments) async throws -> Report {
    let runtime = context.runtime
    var configuration = ServerConfiguration(listen: try ListenAddress(parsing: arguments.text("listen") ?? runtime.configuration.serveListen))
    configuration.threads = arguments.intOrDefault("threads")
    configuration.tokens = runtime.configuration.serveTokens
    configuration.allowInsecureNoAuth = arguments.flag("insecure-no-auth")
    configuration.tlsCertificateFile = arguments.text("tls-cert")
    configuration.tlsKeyFile = arguments.text("tls-key")
    let graceSeconds = arguments.secondsOrDefault("grace")
    let grace = Duration.seconds(graceSeconds)

    let backend = ServiceBackend(runtime: runtime)
    let server = try SpeechServer(configuration, backend: backend, logger: runtime.logger,
                                  faces: .installed(backend: backend, voiceMap: OpenAIVoiceMap(overrides: runtime.configuration.openAIVoiceMap)),
                                  console: ConsoleRoutes(backend: ServiceCuratorBackend(runtime: runtime)))
    // From here a signal is this command's normal end: the process exits 0 after the grace.
    SignalEndedCommand.begin(grace: grace)
    defer { SignalEndedCommand.end() }
    if let file = arguments.text("port-file") {
        do {
            try writePortFile(file, port: server.address.port)
        } catch {
            await server.stop(grace: .zero)
            throw error
        }
    }
    context.output.notice(server.banner)
    while !Task.isCancelled {
        try? await Task.sleep(for: .milliseconds(200))
    }
    let inFlight = server.requestsInFlight
    let drained = await server.stop(grace: grace)
    let human = "stopped serving on \(server.address)" + (drained ? "" : "; \(inFlight) request(s) did not finish within \(fixedPoint(graceSeconds, decimals: graceSeconds == graceSeconds.rounded() ? 0 : 1)) s")
    return Report(human: human, json: [.object([("stopped", true), ("listen", .string(server.address.description)),
                                                ("drained", .bool(drained))])])
}

/// Writes `port` to `file` whole, then renames it into place: a reader polling for the file
/// never sees half a number.
func writePortFile(_ file: String, port: Int) throws {
    let url = URL(fileURLWithPath: file)
    let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(getpid()).tmp")
    do {
        try Data("\(port)\n".utf8).write(to: temporary)
        guard rename(temporary.path, url.path) == 0 else {
            throw TTSError(.config, String(cString: strerror(errno)))
        }
    } catch {
        throw TTSError(.config, "cannot write the port file \(file): \(FileSystemReason.describe(error, path: file))")
    }
}
