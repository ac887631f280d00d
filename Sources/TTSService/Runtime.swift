import Foundation
import TTSCore
import TTSEngines
import TTSStore

/// Everything one tts-repl process opens from its configuration: the store, the engines, the
/// log, and the service over them. Built once at start-up.
public final class Runtime: Sendable {
    public let configuration: Configuration
    public let layout: StoreLayout
    public let service: SpeechService
    public let logger: Logger

    public init(configuration: Configuration) throws {
        self.configuration = configuration
        layout = StoreLayout(root: configuration.storeURL)
        do {
            try FileManager.default.createDirectory(at: configuration.storeURL, withIntermediateDirectories: true)
        } catch {
            throw TTSError.store("cannot create the store folder \(configuration.storeURL.path): \(error.localizedDescription). Set TTS_STORE or --store to a writable folder.")
        }
        let blobs = try BlobStore(layout: layout)
        let index = try ClipIndex(url: layout.indexURL)
        logger = Logger(file: configuration.logFileURL, level: configuration.logLevel)

        var engines = EngineRegistry()
        engines.register(EspeakEngine())
        if configuration.geminiAPIKeys.isEmpty {
            engines.markUnavailable("gemini", reason: "the gemini engine needs an API key: set GEMINI_API_KEY in the environment or in .env, or use `engine espeak`")
        } else {
            engines.markUnavailable("gemini", reason: "the gemini engine is not wired into this build yet: use `engine espeak`")
        }
        service = SpeechService(engines: engines, index: index, blobs: blobs, logger: logger,
                                maxTextCharacters: configuration.maxTextCharacters)
    }

    /// Flushes buffered hit counts and closes the index.
    public func close() {
        try? service.index.flush()
        service.index.close()
    }
}
