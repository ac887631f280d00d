import Foundation
import TTSCore

/// One of the page's three files, with the headers a browser needs to cache and trust it: a
/// strong `ETag` (the SHA-256 of the bytes, so a new binary's page is fetched again and an
/// unchanged one answers 304) and a content security policy that allows only this server.
struct ConsoleAsset: Sendable {
    let body: Data
    let contentType: String
    let etag: String

    private init(_ text: String, _ contentType: String) {
        body = Data(text.utf8)
        self.contentType = contentType
        etag = "\"" + String(SHA256.hash(body).hex.prefix(32)) + "\""
    }

    private static let page = ConsoleAsset(ConsolePage.html, "text/html; charset=utf-8")
    private static let style = ConsoleAsset(ConsoleStyle.css, "text/css; charset=utf-8")
    private static let script = ConsoleAsset(ConsoleScript.js, "text/javascript; charset=utf-8")

    /// The asset at `path`, nil for any other path.
    init?(path: String) {
        switch path {
        case "/", "/index.html": self = Self.page
        case "/console.css": self = Self.style
        case "/console.js": self = Self.script
        default: return nil
        }
    }

    /// Same-origin only: the page needs no other host (no CDN, no font service), `blob:` is for
    /// clips fetched with a token, and `data:` for the empty favicon.
    static let contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"

    func response(ifNoneMatch: String?) -> ServerResponse {
        // `no-cache`: the browser keeps the file but asks each time; the ETag makes that a 304.
        let headers: [(name: String, value: String)] = [
            ("Content-Type", contentType), ("ETag", etag), ("Cache-Control", "no-cache"),
            ("Content-Security-Policy", Self.contentSecurityPolicy), ("X-Content-Type-Options", "nosniff"),
            ("Referrer-Policy", "no-referrer"),
        ]
        if let tags = ifNoneMatch, tags.split(separator: ",").contains(where: { $0.trimmingCharacters(in: .whitespaces) == etag || $0 == "*" }) {
            return ServerResponse(status: 304, headers: headers.filter { $0.name != "Content-Type" })
        }
        return ServerResponse(status: 200, headers: headers, body: .bytes(body))
    }
}
