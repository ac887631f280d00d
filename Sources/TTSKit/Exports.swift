// The value types a TTSKit user handles, re-exported so `import TTSKit` is the only import
// needed. Everything else in the modules below stays out of sight.
@_exported import struct TTSCore.AudioRequest
@_exported import struct TTSCore.BlobHash
@_exported import struct TTSCore.Clip
@_exported import struct TTSCore.Configuration
@_exported import struct TTSCore.RequestKey
@_exported import struct TTSCore.SpeakerVoice
@_exported import struct TTSCore.TTSError
@_exported import enum TTSService.Tier
/// Counts so far during `SpeechCache.prewarm` (done of total, cached, generated, failed, rate).
@_exported import struct TTSService.PrewarmProgress
