import Foundation

/// How exported or served samples are stored: 16-bit linear PCM or 8-bit G.711 µ-law / A-law
/// in WAV, or compressed by libsndfile: FLAC (lossless), Opus and Vorbis (in Ogg), MP3 (LAME).
///
/// ```swift
/// AudioEncoding.mp3.fileExtension   // "mp3"
/// AudioEncoding.opus.mimeType       // "audio/ogg; codecs=opus"
/// ```
public enum AudioEncoding: String, Sendable, CaseIterable, Codable {
    case pcm16
    case ulaw
    case alaw
    case flac
    case opus
    case vorbis
    case mp3

    /// By its name, or `wav` for the stored 16-bit PCM (case-insensitive).
    public init?(named name: String) {
        let lowered = name.lowercased()
        guard let encoding = lowered == "wav" ? .pcm16 : AudioEncoding(rawValue: lowered) else { return nil }
        self = encoding
    }

    public var law: G711.Law? {
        switch self {
        case .ulaw: .muLaw
        case .alaw: .aLaw
        default: nil
        }
    }

    /// Whether the samples are kept in a WAV file (the store's own format, or G.711 in WAV).
    public var isWAV: Bool { self == .pcm16 || self == .ulaw || self == .alaw }

    /// The file extension people expect, without the dot. Ogg Opus files are `.opus` by the
    /// Xiph recommendation; Ogg Vorbis keeps `.ogg`.
    public var fileExtension: String {
        switch self {
        case .pcm16, .ulaw, .alaw: "wav"
        case .flac: "flac"
        case .opus: "opus"
        case .vorbis: "ogg"
        case .mp3: "mp3"
        }
    }

    /// The MIME type an HTTP answer carries (RFC 7845 for Opus, RFC 3003 for MP3).
    public var mimeType: String {
        switch self {
        case .pcm16, .ulaw, .alaw: "audio/wav"
        case .flac: "audio/flac"
        case .opus: "audio/ogg; codecs=opus"
        case .vorbis: "audio/ogg"
        case .mp3: "audio/mpeg"
        }
    }

    /// The setting a person tunes: kilobits per second for the lossy codecs that aim at a bit
    /// rate (MP3 constant rate, Opus), a 0…10 quality for Vorbis (libsndfile drives libvorbis by
    /// quality, not bit rate) and a 0…8 compression level for FLAC (smaller file, same samples).
    public var setting: QualitySetting? {
        switch self {
        case .pcm16, .ulaw, .alaw: nil
        // 64 kbit/s is transparent for speech at 22–24 kHz and fits every MP3 sample rate
        // (MPEG-2.5 at 8 kHz stops at 64).
        case .mp3: QualitySetting(kind: .bitrate, range: 8...320, defaultValue: 64)
        // Opus is transparent for wide-band speech from about 24–32 kbit/s.
        case .opus: QualitySetting(kind: .bitrate, range: 6...256, defaultValue: 32)
        // oggenc's scale; 4 gives about 64 kbit/s for 44.1 kHz stereo, less for mono speech.
        case .vorbis: QualitySetting(kind: .quality, range: 0...10, defaultValue: 4)
        // flac's own levels; 5 is its default.
        case .flac: QualitySetting(kind: .quality, range: 0...8, defaultValue: 5)
        }
    }

    /// The only sample rates the encoder accepts, when it is choosy (Opus: 8, 12, 16, 24 and
    /// 48 kHz); nil when it takes whatever the clip has.
    public var allowedRates: [Int]? {
        self == .opus ? [8000, 12000, 16000, 24000, 48000] : nil
    }
}

/// A codec's tunable: a bit rate in kbit/s (`--bitrate`) or a quality level (`--quality`).
public struct QualitySetting: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case bitrate, quality
    }

    public var kind: Kind
    public var range: ClosedRange<Int>
    public var defaultValue: Int
}

/// A format to convert clips to: a sample rate (nil keeps the clip's, or the nearest one the
/// codec accepts), an encoding, and the codec's bit rate or quality (nil: its default). Its
/// `name` (`8000-ulaw`, `source-pcm16`, `24000-mp3-64k`, `source-flac-q5`) names the folder of
/// the conversion cache, so every setting that changes the bytes is part of the cache key.
///
/// ```swift
/// let target = try AudioTarget(encoding: .mp3, bitrate: 96).validated()
/// target.name                               // "source-mp3-96k"
/// target.outputRate(forSourceRate: 22_050)  // 22050
/// ```
public struct AudioTarget: Sendable, Hashable {
    /// The rates people deliver to: telephony, wide-band, the engines' own, CD and video.
    public static let supportedRates = [8000, 16000, 22050, 24000, 44100, 48000]

    public var sampleRate: Int?
    public var encoding: AudioEncoding
    /// kbit/s, for encodings whose `setting` is a bit rate.
    public var bitrate: Int?
    /// 0…10 (Vorbis) or 0…8 (FLAC), for encodings whose `setting` is a quality.
    public var quality: Int?

    public init(sampleRate: Int? = nil, encoding: AudioEncoding = .pcm16, bitrate: Int? = nil, quality: Int? = nil) {
        self.sampleRate = sampleRate
        self.encoding = encoding
        self.bitrate = bitrate
        self.quality = quality
    }

    /// The codec's setting in effect: the one asked for, or the encoding's default.
    public var settingValue: Int? {
        guard let setting = encoding.setting else { return nil }
        switch setting.kind {
        case .bitrate: return bitrate ?? setting.defaultValue
        case .quality: return quality ?? setting.defaultValue
        }
    }

    /// Bit rate in kbit/s when the encoding has one (for manifests and answers).
    public var effectiveBitrate: Int? { encoding.setting?.kind == .bitrate ? settingValue : nil }

    public var name: String {
        var name = "\(sampleRate.map(String.init) ?? "source")-\(encoding.rawValue)"
        if let setting = encoding.setting, let value = settingValue {
            name += setting.kind == .bitrate ? "-\(value)k" : "-q\(value)"
        }
        return name
    }

    /// The target with its defaults filled in, or a `.validation` error naming what is wrong
    /// and what is accepted: a rate the codec refuses, a bit rate or quality out of range, or a
    /// setting the encoding does not have.
    public func validated() throws -> AudioTarget {
        var target = self
        if let rate = sampleRate, !AudioTarget.supportedRates.contains(rate) && !(encoding.allowedRates ?? []).contains(rate) {
            throw TTSError.validation("rate", "--rate takes \(AudioTarget.supportedRates.map(String.init).joined(separator: ", ")) (Hz), not \(rate)")
        }
        if let rate = sampleRate, let allowed = encoding.allowedRates, !allowed.contains(rate) {
            throw TTSError.validation("rate", "\(encoding.rawValue) takes only \(allowed.map(String.init).joined(separator: ", ")) Hz, not \(rate); choose one of those, or leave --rate out to use the nearest")
        }
        let setting = encoding.setting
        if bitrate != nil && setting?.kind != .bitrate {
            throw TTSError.validation("bitrate", "--bitrate applies to mp3 and opus; \(encoding.rawValue) \(setting.map { "takes --quality \($0.range.lowerBound)–\($0.range.upperBound)" } ?? "has no bit rate to set")")
        }
        if quality != nil && setting?.kind != .quality {
            throw TTSError.validation("quality", "--quality applies to vorbis (0–10) and flac (0–8); \(encoding.rawValue) \(setting?.kind == .bitrate ? "takes --bitrate in kbit/s" : "has no quality to set")")
        }
        if let setting, let value = settingValue {
            guard setting.range.contains(value) else {
                let unit = setting.kind == .bitrate ? " kbit/s" : ""
                throw TTSError.validation(setting.kind.rawValue, "\(encoding.rawValue) takes --\(setting.kind.rawValue) \(setting.range.lowerBound)–\(setting.range.upperBound)\(unit), not \(value)")
            }
            if setting.kind == .bitrate { target.bitrate = value } else { target.quality = value }
        }
        return target
    }

    /// The rate the converted file has for a clip at `source` Hz: the one asked for, else the
    /// clip's own, except that Opus gets the nearest rate it accepts at or above the clip's
    /// (22,050 → 24,000), so nothing of the band is lost.
    public func outputRate(forSourceRate source: Int) -> Int {
        if let sampleRate { return sampleRate }
        guard let allowed = encoding.allowedRates, !allowed.contains(source) else { return source }
        return allowed.first { $0 >= source } ?? allowed.last!
    }

    /// Whether audio in `format` needs no conversion to meet this target.
    public func isSatisfied(by format: PCMFormat) -> Bool {
        encoding == .pcm16 && format.bitsPerSample == 16 && (sampleRate == nil || sampleRate == format.sampleRate)
    }
}
