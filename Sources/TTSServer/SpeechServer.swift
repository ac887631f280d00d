import Foundation
import TTSCore

/// How `tts-repl serve` runs: where it listens, with how many threads, which tokens, TLS.
public struct ServerConfiguration: Sendable {
    public var listen: ListenAddress
    public var threads: Int = 2
    /// `TTS_SERVE_TOKENS`: empty means no authentication, allowed on loopback only unless
    /// `allowInsecureNoAuth`.
    public var tokens: [String] = []
    public var allowInsecureNoAuth = false
    public var tlsCertificateFile: String?
    public var tlsKeyFile: String?
    public var maxBodyBytes = 64 << 10
    public var connectionLimit = 1024
    public var idleTimeoutSeconds = 30

    public init(listen: ListenAddress) {
        self.listen = listen
    }
}

/// The HTTP service over the cache: the daemon, the router with its faces, the access log.
///
/// ```swift
/// let server = try SpeechServer(ServerConfiguration(listen: try ListenAddress(parsing: "127.0.0.1:0")),
///                               backend: ServiceBackend(runtime: runtime), logger: runtime.logger)
/// print(server.baseURL)                 // http://127.0.0.1:41234
/// await server.stop(grace: .seconds(10))
/// ```
public final class SpeechServer: Sendable {
    private let daemon: HTTPDaemon
    private let logger: Logger
    public let requiresToken: Bool

    public init(_ configuration: ServerConfiguration, backend: any ServerBackend, logger: Logger,
                faces: CompatibilityFaces? = nil, console: ConsoleRoutes? = nil) throws {
        let access = AccessPolicy(tokens: configuration.tokens)
        if !access.requiresToken && !configuration.listen.isLoopback && !configuration.allowInsecureNoAuth {
            throw TTSError(.config, "refusing to listen on \(configuration.listen) without tokens: anyone who can reach that address could use the cache and spend engine quota. Set TTS_SERVE_TOKENS (a comma-separated list), listen on 127.0.0.1, or pass --insecure-no-auth if a proxy in front does the checking.")
        }
        var daemonConfiguration = HTTPDaemonConfiguration(address: configuration.listen)
        daemonConfiguration.threads = configuration.threads
        daemonConfiguration.maxBodyBytes = configuration.maxBodyBytes
        daemonConfiguration.connectionLimit = configuration.connectionLimit
        daemonConfiguration.idleTimeoutSeconds = configuration.idleTimeoutSeconds
        switch (configuration.tlsCertificateFile, configuration.tlsKeyFile) {
        case (nil, nil):
            break
        case let (cert?, key?):
            daemonConfiguration.tlsCertificatePEM = try SpeechServer.readPEM(cert, what: "certificate", flag: "--tls-cert")
            daemonConfiguration.tlsKeyPEM = try SpeechServer.readPEM(key, what: "private key", flag: "--tls-key")
        default:
            throw TTSError(.config, "TLS needs both --tls-cert FILE and --tls-key FILE (PEM)")
        }
        let router = ServerRouter(backend: backend, access: access, faces: faces ?? .installed(backend: backend),
                                  console: console, logger: logger)
        daemon = try HTTPDaemon(daemonConfiguration, handler: router)
        self.logger = logger
        requiresToken = access.requiresToken
        logger.info("serve", [("operation", "serve"), ("listen", .string(daemon.address.description)), ("tls", .bool(daemon.isTLS)),
                              ("threads", .int(configuration.threads)), ("auth", .bool(requiresToken)), ("outcome", "listening")])
    }

    /// Where it listens, with the port the kernel chose for port 0.
    public var address: ListenAddress { daemon.address }

    /// `http://127.0.0.1:8088` (`https://` with TLS); the console is at `baseURL + "/"`.
    public var baseURL: String {
        let host = address.host == "0.0.0.0" ? "127.0.0.1" : address.host == "::" ? "::1" : address.host
        let shown = address.isIPv6 ? "[\(host)]" : host
        return "\(daemon.isTLS ? "https" : "http")://\(shown):\(address.port)"
    }

    /// The lines printed at start.
    public var banner: String {
        var lines = ["serving on \(address)\(daemon.isTLS ? " (TLS)" : "") — console \(baseURL)/",
                     "  native API \(baseURL)/v1/speech, OpenAI \(baseURL)/v1/audio/speech, Gemini \(baseURL)/v1beta/models/{model}:generateContent",
                     "  metrics \(baseURL)/metrics, health \(baseURL)/healthz, ready \(baseURL)/readyz"]
        lines.append(requiresToken ? "  clients authenticate with Authorization: Bearer TOKEN or x-goog-api-key: TOKEN (TTS_SERVE_TOKENS)"
                                   : "  no tokens: anyone who can reach this address may use it (set TTS_SERVE_TOKENS)")
        lines.append("  Ctrl-C or SIGTERM stops after the requests in flight")
        return lines.joined(separator: "\n")
    }

    public var requestsInFlight: Int { daemon.requestsInFlight }

    /// Stops accepting, lets requests in flight finish within `grace`, then stops. Returns
    /// whether they all finished in time.
    @discardableResult
    public func stop(grace: Duration) async -> Bool {
        let started = ContinuousClock.now
        let inFlight = daemon.requestsInFlight
        let drained = await daemon.stop(grace: grace)
        logger.info("serve-stop", [("operation", "serve-stop"), ("in_flight", .int(inFlight)), ("drained", .bool(drained)),
                                   ("ms", .double(started.duration(to: .now).milliseconds)),
                                   ("outcome", .string(drained ? "ok" : "timeout"))])
        return drained
    }

    private static func readPEM(_ path: String, what: String, flag: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TTSError(.config, "cannot read the TLS \(what) \(path) (\(flag)): check the path and its permissions")
        }
        let text = String(decoding: data, as: UTF8.self)
        guard text.contains("-----BEGIN ") else {
            throw TTSError(.config, "the TLS \(what) \(path) (\(flag)) is not PEM text (-----BEGIN …): convert it with openssl")
        }
        return text
    }
}
