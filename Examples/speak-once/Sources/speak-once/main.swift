// Speaks one sentence through espeak-ng into a store folder and says where the clip came from.
// Run it twice with the same folder: the first run makes the audio, the second finds it.
//
//     swift run speak-once /tmp/speak-once-store
import Foundation
import TTSKit

let store = CommandLine.arguments.dropFirst().first
    ?? FileManager.default.temporaryDirectory.appendingPathComponent("speak-once-store").path

do {
    let cache = try SpeechCache.openFromEnvironment(overrides: ["TTS_STORE": store, "TTS_ENGINE": "espeak", "REDIS_URL": "off"])
    defer { cache.close() }
    let spoken = try await cache.speak(cache.request("Hello from a program that uses TTSKit."))
    print("key  \(spoken.clip.key)")
    print("tier \(spoken.tier.rawValue)")
    print("path \(spoken.url.path)")
} catch {
    FileHandle.standardError.write(Data("speak-once: \(error)\n".utf8))
    exit(1)
}
