import Foundation
import TTSCore
import TTSServer
import TTSService

/// `serve`: the cache as an HTTP service, until Ctrl-C or SIGTERM.
let serveCommands: [Command] = [
    Command("serve", group: .operations,
            usage: "serve [--listen ADDR:PORT] [--port-file FILE] [--threads N] [--grace S] [--tls-cert F --tls-key F] [--insecure-no-auth]",
            summary: "Serve the cache over HTTP (native API, OpenAI- and Gemini-compatible endpoints, metrics) until Ctrl-C or SIGTERM",
            examples: ["serve", "serve --listen 0.0.0.0:8080   (needs TTS_SERVE_TOKENS)",
                       "serve --listen 127.0.0.1:0 --port-file /tmp/tts.port",
                       "serve --tls-cert cert.pem --tls-key key.pem"],
            options: ["--listen", "--port-file", "--threads", "--grace", "--tls-cert", "--tls-key", "--insecure-no-auth"],
            run: serve),
]

@Sendable func serve(_ session: inout Session, _ context: CommandContext, _ words: [String]) async throws -> Report {
    let options = try Options(words, valued: ["listen", "port-file", "threads", "grace", "tls-cert", "tls-key"],
                              flags: ["insecure-no-auth"], command: "serve")
    if let extra = options.positional.first { throw TTSError.validation("serve", "serve takes options only, not '\(extra)'") }
    let runtime = context.runtime
    var configuration = ServerConfiguration(listen: try ListenAddress(parsing: options.values["listen"] ?? runtime.configuration.serveListen))
    configuration.threads = try options.int("threads", default: 2, range: 1...64)
    configuration.tokens = runtime.configuration.serveTokens
    configuration.allowInsecureNoAuth = options.flags.contains("insecure-no-auth")
    configuration.tlsCertificateFile = options.values["tls-cert"]
    configuration.tlsKeyFile = options.values["tls-key"]
    let grace = Duration.seconds(try Configuration.parseSeconds(options.values["grace"] ?? "10", name: "--grace"))

    let backend = ServiceBackend(runtime: runtime)
    let server = try SpeechServer(configuration, backend: backend, logger: runtime.logger,
                                  faces: .installed(backend: backend, voiceMap: OpenAIVoiceMap(overrides: runtime.configuration.openAIVoiceMap)),
                                  console: ConsoleRoutes(backend: ServiceCuratorBackend(runtime: runtime)))
    // From here a signal is this command's normal end: the process exits 0 after the grace.
    SignalEndedCommand.begin(grace: grace)
    defer { SignalEndedCommand.end() }
    if let file = options.values["port-file"] {
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
    let human = "stopped serving on \(server.address)" + (drained ? "" : "; \(inFlight) request(s) did not finish within \(options.values["grace"] ?? "10") s")
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
