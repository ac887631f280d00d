import Foundation
import Glibc
import CLazyLibraries

/// espeak-ng's voice list kept in a file between processes, so resolving a request's voice (which
/// every request needs to be keyed) does not initialise espeak-ng when the answer comes from the
/// cache. The first line stamps the library file that listed the voices (path, size and mtime,
/// read with `stat`: loading the library to ask its version would cost what the file saves);
/// a file of another library, or one that cannot be read, is ignored and written again.
///
/// ```
/// espeak-ng /usr/lib/x86_64-linux-gnu/libespeak-ng.so.1.1.51 1219376 1673004242000000000
/// gmw/en-US	English (America)	en-us,en
/// ```
struct EspeakVoiceList: Sendable {
    let url: URL

    init(_ url: URL) {
        self.url = url
    }

    /// nil when the library file cannot be found, and then no list is kept or trusted.
    static var stamp: String? {
        var identity = [CChar](repeating: 0, count: Int(PATH_MAX) + 64)
        guard tts_lazy_library_identity("libespeak-ng.so.1", &identity, identity.count) == 0 else { return nil }
        return "espeak-ng " + String(cString: identity)
    }

    /// The voices, when the file is there and names this library version.
    func read() -> [EspeakLibrary.Voice]? {
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { return nil }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: true)
        guard let stamp = Self.stamp, lines.first.map(String.init) == stamp else { return nil }
        lines.removeFirst()
        var voices: [EspeakLibrary.Voice] = []
        for line in lines {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard fields.count == 3, !fields[0].isEmpty else { return nil }
            voices.append(EspeakLibrary.Voice(name: fields[1], identifier: fields[0],
                                              languages: fields[2].split(separator: ",").map(String.init)))
        }
        return voices.isEmpty ? nil : voices
    }

    /// Writes the list whole (temp file, then rename), so a reader never sees half of it. Best
    /// effort: a store that cannot take the file only means espeak-ng starts on every process.
    func write(_ voices: [EspeakLibrary.Voice]) {
        let clean: (String) -> String = { $0.replacingOccurrences(of: "\t", with: " ").replacingOccurrences(of: "\n", with: " ") }
        guard let stamp = Self.stamp else { return }
        var text = stamp + "\n"
        for voice in voices {
            text += clean(voice.identifier) + "\t" + clean(voice.name) + "\t" + voice.languages.map(clean).joined(separator: ",") + "\n"
        }
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(getpid()).tmp")
        do {
            try Data(text.utf8).write(to: temporary)
            if rename(temporary.path, url.path) != 0 { try? FileManager.default.removeItem(at: temporary) }
        } catch {
            try? FileManager.default.removeItem(at: temporary)
        }
    }
}
