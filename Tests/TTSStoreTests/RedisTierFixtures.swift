import Foundation
import TTSCore
import XCTest
@testable import TTSStore

/// Fixtures of the shared-tier tests, on a single server or on the cluster.
extension RedisServerTestCase {
    func makeTier(ttlSeconds: Int = RedisTier.defaultTTLSeconds, shareAudio: Bool = true,
                  maxAudioBytes: Int = RedisTier.defaultMaxAudioBytes) throws -> RedisTier {
        RedisTier(client: try makeClient(), prefix: prefix, ttlSeconds: ttlSeconds, shareAudio: shareAudio,
                  maxAudioBytes: maxAudioBytes)
    }

    func randomKey() -> RequestKey {
        RequestKey(hex: (0..<4).map { _ in String(format: "%016llx", UInt64.random(in: 0...UInt64.max)) }.joined())!
    }

    /// A WAV of `frames` 16-bit mono frames at 24 kHz whose bytes include what RESP frames with
    /// (CR, LF, $, *) and NULs.
    func wav(frames: Int, seed: Int = 0, sampleRate: Int = 24_000, channels: Int = 1) -> Data {
        var pcm = Data((0..<(frames * 2 * channels)).map { UInt8(truncatingIfNeeded: ($0 + seed) &* 7919 &+ $0 >> 8) })
        if pcm.count > 8 { pcm.replaceSubrange(4..<8, with: [13, 10, 0, 36]) }
        return WAVAudio(format: PCMFormat(sampleRate: sampleRate, channels: channels), pcm: pcm).encoded()
    }

    /// A clip whose every field differs from its default, with text that needs care
    /// (non-ASCII, CR LF), keyed by its own request fields and describing `audio`.
    func makeClip(audio: Data, text: String? = nil) -> Clip {
        let request = AudioRequest(text: text ?? "Grüß Gott,\r\nwörld 😀 \(UUID().uuidString)", voice: "Kore",
                                   language: "de-AT", engine: "gemini", model: "gemini-2.5-flash-preview-tts",
                                   style: "cheerfully")
        let header = WAVHeader(audio)
        return Clip(key: RequestKey(request), blob: BlobHash(of: audio), request: request, bytes: audio.count,
                    durationMs: header?.durationMs ?? 0, sampleRate: header?.sampleRate ?? 24_000,
                    createdAt: Date(timeIntervalSince1970: 1_750_000_000), lastUsedAt: Date(timeIntervalSince1970: 1_750_000_100),
                    hits: 7)
    }

    /// A raw command on the node holding `key`.
    func raw(_ arguments: String..., key: String) async throws -> RedisReply {
        try await makeClient().command(arguments, routing: key)
    }

    func clipKey(_ key: RequestKey) -> String {
        usesCluster ? prefix + "clip:{" + key.hex + "}" : prefix + "clip:" + key.hex
    }

}
