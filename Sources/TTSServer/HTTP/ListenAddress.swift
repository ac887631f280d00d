import Foundation
import Glibc
import TTSCore

/// Where the server listens: `127.0.0.1:8088`, `0.0.0.0:8080`, `[::1]:8088`, `:8088` (every
/// IPv4 interface). Parsed and checked once, at start.
///
/// ```swift
/// let address = try ListenAddress(parsing: "127.0.0.1:0")
/// address.isLoopback   // true: serving without tokens is allowed
/// ```
public struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
    /// The numeric host as given (`127.0.0.1`, `::1`, `0.0.0.0`).
    public var host: String
    public var port: Int
    public var isIPv6: Bool

    public init(parsing text: String) throws {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        var host: String
        var portText: Substring
        if trimmed.hasPrefix("[") {
            guard let close = trimmed.firstIndex(of: "]"), trimmed[trimmed.index(after: close)...].hasPrefix(":") else {
                throw ListenAddress.invalid(text)
            }
            host = String(trimmed[trimmed.index(after: trimmed.startIndex)..<close])
            portText = trimmed[trimmed.index(close, offsetBy: 2)...]
        } else {
            guard let colon = trimmed.lastIndex(of: ":") else { throw ListenAddress.invalid(text) }
            host = String(trimmed[..<colon])
            portText = trimmed[trimmed.index(after: colon)...]
            if host.isEmpty { host = "0.0.0.0" }
            if host == "localhost" { host = "127.0.0.1" }
        }
        guard let port = Int(portText), (0...65535).contains(port) else { throw ListenAddress.invalid(text) }
        self.host = host
        self.port = port
        var v4 = in_addr(), v6 = in6_addr()
        if inet_pton(AF_INET, host, &v4) == 1 {
            isIPv6 = false
        } else if inet_pton(AF_INET6, host, &v6) == 1 {
            isIPv6 = true
        } else {
            throw ListenAddress.invalid(text)
        }
    }

    /// Whether only this machine can connect (127.0.0.0/8 or ::1).
    public var isLoopback: Bool {
        isIPv6 ? host == "::1" : host.hasPrefix("127.")
    }

    public var description: String { isIPv6 ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// The same address with another port (the one the kernel chose for port 0).
    public func with(port: Int) -> ListenAddress {
        var copy = self
        copy.port = port
        return copy
    }

    /// The address as a `sockaddr_in` or `sockaddr_in6`, for `bind`.
    func withSocketAddress<T>(_ body: (UnsafePointer<sockaddr>) -> T) -> T {
        if isIPv6 {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = in_port_t(UInt16(port).bigEndian)
            _ = inet_pton(AF_INET6, host, &address.sin6_addr)
            return withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1, body) }
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        _ = inet_pton(AF_INET, host, &address.sin_addr)
        return withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1, body) }
    }

    /// A numeric address for the access log (`127.0.0.1`, `::1`).
    static func describe(_ address: UnsafePointer<sockaddr>) -> String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        let family = Int32(address.pointee.sa_family)
        return buffer.withUnsafeMutableBufferPointer { out -> String in
            let written: UnsafePointer<CChar>?
            switch family {
            case AF_INET:
                written = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { v4 in
                    var raw = v4.pointee.sin_addr
                    return inet_ntop(AF_INET, &raw, out.baseAddress, socklen_t(out.count))
                }
            case AF_INET6:
                written = address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { v6 in
                    var raw = v6.pointee.sin6_addr
                    return inet_ntop(AF_INET6, &raw, out.baseAddress, socklen_t(out.count))
                }
            default:
                written = nil
            }
            return written.map { String(cString: $0) } ?? ""
        }
    }

    private static func invalid(_ text: String) -> TTSError {
        TTSError(.config, "cannot listen on '\(text)': give a numeric address and port such as 127.0.0.1:8088, 0.0.0.0:8080 or [::1]:8088 (TTS_SERVE_LISTEN or --listen)")
    }
}
