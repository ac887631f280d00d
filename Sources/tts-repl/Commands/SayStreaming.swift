import Foundation
import TTSCore
import TTSService

/// `say --stream`: plays the clip through a player reading standard input from the first chunk
/// on, while the rest is still being made, and reports the time to first audio. Ctrl-C stops
/// the playback and the command; the generation goes on and is cached (it is paid for).
func sayStreaming(_ request: AudioRequest, _ session: inout Session, _ context: CommandContext) async throws -> Report {
    let asked = ContinuousClock.now
    let player = try AudioPlayer.find(for: "Without --stream, say stores the clip without playing it.")
    // The request goes out first; a player that reads a WAV stream then starts while the first
    // chunk is on its way (spawning it takes milliseconds that should not delay the request).
    let events = try await context.service.speakStreaming(request)
    var playback = player.wavStreamFlags == nil ? nil : try StreamingPlayback(player, format: nil)
    var start: SpeechStreamStart?
    var clip: Clip?
    do {
        for try await event in events {
            switch event {
            case let .started(started):
                start = started
                if let playback {
                    playback.begin(started.format)
                } else {
                    playback = try StreamingPlayback(player, format: started.format)
                }
            case let .audio(pcm):
                playback?.write(pcm)
            case let .finished(stored):
                clip = stored
            }
        }
    } catch {
        playback?.stop()
        throw error
    }
    if Task.isCancelled || clip == nil {
        playback?.stop()
        throw TTSError(.cancelled, "say --stream was stopped; the clip is still being made and will be cached")
    }
    let status = await playback?.finish() ?? 0
    let firstAudio = playback?.firstAudioAt.map { asked.duration(to: $0) }
    if Task.isCancelled {
        throw TTSError(.cancelled, "playback stopped; the clip is cached as \(clip!.key.short)")
    }
    guard status == 0 else {
        throw TTSError(.config, "\(player.name) could not play the stream (exit status \(status)); is a sound device available? The clip is cached as \(clip!.key.short)")
    }
    let stored = clip!
    session.lastClip = stored
    let tier = start?.tier ?? .local
    let path = context.service.local.url(for: stored).path
    let firstMs = (firstAudio ?? .zero).milliseconds
    let totalMs = asked.duration(to: .now).milliseconds
    let human = context.output.json ? ""
        : "\(tier.rawValue.padding(toLength: 6, withPad: " ", startingAt: 0)) \(stored.key.short)  "
            + "\(formatSeconds(stored.durationMs)) audio  \(stored.voice)  first audio \(String(format: "%.1f", firstMs)) ms  "
            + "played in \(String(format: "%.1f", totalMs)) ms  \(path)"
    var fields: [(String, JSONValue)] = [("key", .string(stored.key.hex)), ("tier", .string(tier.rawValue)),
                                         ("path", .string(path))]
    fields += clipFields(stored).filter { $0.0 != "key" }
    fields.append(("first_audio_ms", .double((firstMs * 1000).rounded() / 1000)))
    fields.append(("elapsed_ms", .double((totalMs * 1000).rounded() / 1000)))
    fields.append(("follower", .bool(start?.isFollower ?? false)))
    fields.append(("player", .string(player.name)))
    return Report(human: human, json: .object(fields))
}
