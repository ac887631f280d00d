import CSndfile
import Foundation
import TTSCore

/// Encodes 16-bit PCM to FLAC, Ogg Opus, Ogg Vorbis or MP3 with libsndfile (which drives
/// libFLAC, libopus, libvorbis and LAME), into memory through its virtual I/O. The only file
/// in tts-repl that calls libsndfile.
///
/// In memory rather than straight into a file: the caller hashes the bytes before naming the
/// file, and FLAC and MP3 seek back at the end (STREAMINFO, the LAME/Xing info frame), which a
/// growable byte array answers as well as a file.
///
/// How each setting reaches the codec (libsndfile 1.2 has one knob per format,
/// `SFC_SET_COMPRESSION_LEVEL`, 0 = best … 1 = smallest, mapped per format):
/// - MP3: constant bit rate; LAME's rate is `max − level·(max − min)` over the MPEG version's
///   range (MPEG-1 from 32 kHz: 32…320, MPEG-2 from 16 kHz: 8…160, MPEG-2.5: 8…64 kbit/s).
/// - Opus: `(1 − level)·250,000 + 6,000` bit/s per channel.
/// - Vorbis: VBR quality `1 − level`, so quality q (0…10) is level `1 − q/10`.
/// - FLAC: compression level `round(level·8)`.
///
/// ```swift
/// let mp3 = try SndfileEncoder.encode(samples, channels: 1, sampleRate: 24_000, as: .mp3, setting: 64)
/// ```
enum SndfileEncoder {
    /// Throws `SndfileError` with libsndfile's own message when the codec refuses the input
    /// (a sample rate MP3 or Opus cannot take) or fails.
    static func encode(_ samples: [Int16], channels: Int, sampleRate: Int, as encoding: AudioEncoding,
                       setting: Int) throws -> Data {
        guard let format = format(of: encoding) else {
            throw SndfileError("\(encoding.rawValue) is not encoded by libsndfile")
        }
        var info = SF_INFO()
        info.samplerate = Int32(sampleRate)
        info.channels = Int32(channels)
        info.format = format
        guard sf_format_check(&info) == SF_TRUE else {
            throw SndfileError("libsndfile cannot write \(encoding.rawValue) at \(sampleRate) Hz with \(channels) channel(s)")
        }
        let file = MemoryFile()
        var io = SF_VIRTUAL_IO(
            get_filelen: { MemoryFile.from($0).length },
            seek: { offset, whence, user in MemoryFile.from(user).seek(offset, whence) },
            read: { pointer, count, user in MemoryFile.from(user).read(into: pointer, count) },
            write: { pointer, count, user in MemoryFile.from(user).write(pointer, count) },
            tell: { MemoryFile.from($0).position })
        return try withExtendedLifetime(file) {
            guard let handle = sf_open_virtual(&io, Int32(SFM_WRITE), &info, Unmanaged.passUnretained(file).toOpaque()) else {
                throw SndfileError(String(cString: sf_strerror(nil)))
            }
            var closed = false
            defer { if !closed { sf_close(handle) } }
            try configure(handle, encoding: encoding, sampleRate: sampleRate, channels: channels, setting: setting)
            let frames = samples.count / max(channels, 1)
            let written = samples.withUnsafeBufferPointer { sf_writef_short(handle, $0.baseAddress, sf_count_t(frames)) }
            guard written == frames else {
                throw SndfileError("wrote \(written) of \(frames) frames: \(String(cString: sf_strerror(handle)))")
            }
            closed = true
            let status = sf_close(handle)  // flushes the encoder and writes the trailing frames
            guard status == 0 else { throw SndfileError(String(cString: sf_error_number(status))) }
            return Data(file.bytes)
        }
    }

    private static func format(of encoding: AudioEncoding) -> Int32? {
        switch encoding {
        case .flac: Int32(SF_FORMAT_FLAC | SF_FORMAT_PCM_16)
        case .opus: Int32(SF_FORMAT_OGG | SF_FORMAT_OPUS)
        case .vorbis: Int32(SF_FORMAT_OGG | SF_FORMAT_VORBIS)
        case .mp3: Int32(SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III)
        case .pcm16, .ulaw, .alaw: nil
        }
    }

    /// The compression level (and for MP3 the constant bit rate mode) for `setting`, see above.
    private static func configure(_ handle: OpaquePointer, encoding: AudioEncoding, sampleRate: Int, channels: Int,
                                  setting: Int) throws {
        var level: Double
        switch encoding {
        case .mp3:
            let range = mp3Bitrates(atRate: sampleRate)
            guard range.contains(setting) else {
                throw SndfileError("MP3 at \(sampleRate) Hz takes \(range.lowerBound)–\(range.upperBound) kbit/s, not \(setting)")
            }
            // libsndfile truncates the bit rate it computes: aim a hair above the integer.
            level = (Double(range.upperBound - setting) - 0.001) / Double(range.upperBound - range.lowerBound)
        case .opus:
            // The setting is the stream's rate; libsndfile's is per channel.
            level = 1 - (Double(setting * 1000) / Double(max(channels, 1)) - 6000 + 0.5) / 250_000
        case .vorbis:
            level = 1 - Double(setting) / 10
        case .flac:
            level = Double(setting) / 8
        case .pcm16, .ulaw, .alaw:
            return
        }
        level = min(1, max(0, level))
        guard sf_command(handle, Int32(SFC_SET_COMPRESSION_LEVEL), &level, Int32(MemoryLayout<Double>.size)) == SF_TRUE else {
            throw SndfileError("cannot set the \(encoding.rawValue) setting \(setting): \(String(cString: sf_strerror(handle)))")
        }
        if encoding == .mp3 {
            var mode = Int32(SF_BITRATE_MODE_CONSTANT)
            guard sf_command(handle, Int32(SFC_SET_BITRATE_MODE), &mode, Int32(MemoryLayout<Int32>.size)) == SF_TRUE else {
                throw SndfileError("cannot set MP3 to a constant bit rate: \(String(cString: sf_strerror(handle)))")
            }
        }
    }

    /// The bit rates LAME offers at a sample rate (by MPEG version).
    static func mp3Bitrates(atRate rate: Int) -> ClosedRange<Int> {
        rate >= 32000 ? 32...320 : rate >= 16000 ? 8...160 : 8...64
    }
}

/// libsndfile's own account of why an encode failed.
struct SndfileError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A growable, seekable byte array behind libsndfile's virtual I/O. Used by one encode on one
/// thread, reached from the C callbacks through their `user_data` pointer.
private final class MemoryFile {
    var bytes: [UInt8] = []
    var position: sf_count_t = 0

    var length: sf_count_t { sf_count_t(bytes.count) }

    static func from(_ user: UnsafeMutableRawPointer?) -> MemoryFile {
        Unmanaged<MemoryFile>.fromOpaque(user!).takeUnretainedValue()
    }

    func seek(_ offset: sf_count_t, _ whence: Int32) -> sf_count_t {
        let base: sf_count_t = whence == SEEK_CUR ? position : whence == SEEK_END ? length : 0
        let target = base + offset
        guard target >= 0 else { return -1 }
        position = target
        return position
    }

    func read(into pointer: UnsafeMutableRawPointer?, _ count: sf_count_t) -> sf_count_t {
        guard let pointer, position < length, count > 0 else { return 0 }
        let n = Int(min(count, length - position))
        bytes.withUnsafeBytes { pointer.copyMemory(from: $0.baseAddress! + Int(position), byteCount: n) }
        position += sf_count_t(n)
        return sf_count_t(n)
    }

    func write(_ pointer: UnsafeRawPointer?, _ count: sf_count_t) -> sf_count_t {
        guard let pointer, count > 0 else { return 0 }
        let start = Int(position), n = Int(count)
        if start + n > bytes.count { bytes.append(contentsOf: repeatElement(0, count: start + n - bytes.count)) }
        bytes.withUnsafeMutableBytes { ($0.baseAddress! + start).copyMemory(from: pointer, byteCount: n) }
        position += count
        return count
    }
}
