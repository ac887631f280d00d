import Foundation

/// A `Range: bytes=…` request header against a file of `size` bytes (RFC 9110 §14): one range
/// is served as 206; several, or a header that is not a byte range, are ignored (the whole file,
/// 200, as the RFC allows); a range that starts past the end is unsatisfiable (416).
enum ByteRange: Equatable {
    case whole
    case part(offset: Int, length: Int)
    case unsatisfiable

    init(header: String?, size: Int) {
        guard let header, let spec = header.trimmingCharacters(in: .whitespaces).dropPrefix("bytes="),
              !spec.contains(",") else {
            self = .whole
            return
        }
        let parts = spec.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.count == 2 else {
            self = .whole
            return
        }
        if parts[0].isEmpty {
            // `bytes=-N`: the last N bytes.
            guard let suffix = Int(parts[1]) else { self = .whole; return }
            guard suffix > 0, size > 0 else { self = .unsatisfiable; return }
            let length = min(suffix, size)
            self = .part(offset: size - length, length: length)
            return
        }
        guard let first = Int(parts[0]), first >= 0 else { self = .whole; return }
        guard first < size else { self = .unsatisfiable; return }
        var last = size - 1
        if !parts[1].isEmpty {
            guard let given = Int(parts[1]), given >= first else { self = .whole; return }
            last = min(given, size - 1)
        }
        self = .part(offset: first, length: last - first + 1)
    }
}
