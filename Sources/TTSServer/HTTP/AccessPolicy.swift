import Foundation
import TTSCore

/// Who may call the server: anyone (no tokens), or a client that presents one of the serve
/// tokens (`TTS_SERVE_TOKENS`) as `Authorization: Bearer TOKEN` (the native API, OpenAI's
/// SDK) or `x-goog-api-key: TOKEN` (Google's SDK). A client's key is only ever compared here,
/// never forwarded, logged or echoed.
public struct AccessPolicy: Sendable {
    private let tokens: [[UInt8]]

    public init(tokens: [String]) {
        self.tokens = tokens.filter { !$0.isEmpty }.map { Array($0.utf8) }
    }

    public var requiresToken: Bool { !tokens.isEmpty }

    /// Whether the request carries a valid token (always true without tokens).
    public func admits(_ request: ServerRequest) -> Bool {
        guard requiresToken else { return true }
        var presented: [String] = []
        if let authorization = request.header("Authorization") {
            let parts = authorization.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].caseInsensitiveCompare("Bearer") == .orderedSame {
                presented.append(parts[1].trimmingCharacters(in: .whitespaces))
            }
        }
        if let key = request.header("x-goog-api-key") { presented.append(key.trimmingCharacters(in: .whitespaces)) }
        var admitted = false
        for candidate in presented {
            for token in tokens where AccessPolicy.constantTimeEquals(Array(candidate.utf8), token) {
                admitted = true
            }
        }
        return admitted
    }

    /// Compares every byte whatever the first difference, so the time taken says nothing about
    /// how much of a guess was right (only, at most, its length).
    static func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(truncatingIfNeeded: a.count ^ b.count)
        let length = max(a.count, b.count)
        for i in 0..<length {
            let x = i < a.count ? a[i] : 0
            let y = i < b.count ? b[i] : 0
            difference |= x ^ y
        }
        return difference == 0 && a.count == b.count
    }
}
