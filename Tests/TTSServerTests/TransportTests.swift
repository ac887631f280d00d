import Foundation
import Glibc
import XCTest
import TTSCore
import TTSEngines
import TestSupport
@testable import TTSServer

/// TLS with a self-signed pair made by the openssl CLI, and slow clients dropped.
final class TransportTests: XCTestCase {
    /// A certificate for 127.0.0.1 and its key, in a temporary folder.
    private func selfSignedPair() throws -> (folder: URL, cert: String, key: String) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tts-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let cert = folder.appendingPathComponent("cert.pem").path, key = folder.appendingPathComponent("key.pem").path
        let openssl = Process()
        openssl.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        openssl.arguments = ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                             "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1",
                             "-addext", "subjectAltName=IP:127.0.0.1"]
        openssl.standardOutput = FileHandle.nullDevice
        openssl.standardError = FileHandle.nullDevice
        try openssl.run()
        openssl.waitUntilExit()
        guard openssl.terminationStatus == 0 else {
            try? FileManager.default.removeItem(at: folder)
            throw TTSError(.config, "openssl could not make a self-signed certificate (exit \(openssl.terminationStatus)): install openssl (make deps)")
        }
        return (folder, cert, key)
    }

    func testTLSServesTheAPIToAClientThatTrustsTheCertificate() async throws {
        let pair = try selfSignedPair()
        defer { try? FileManager.default.removeItem(at: pair.folder) }
        try await withServer(ServerFixture.Options(tlsFiles: (pair.cert, pair.key))) { server in
            XCTAssertTrue(server.baseURL.hasPrefix("https://127.0.0.1:"), server.baseURL)
            let spoken = try await server.post("/v1/speech", #"{"text": "over TLS"}"#)
            XCTAssertEqual(spoken.status, 200, spoken.text)
            XCTAssertNoThrow(try WAVAudio.decode(spoken.body))
            let blob = try await server.get(try XCTUnwrap(spoken.header("Content-Location")))
            XCTAssertEqual(blob.body, spoken.body)
            // A client that does not trust the certificate is refused by its own TLS check.
            let untrusting = CurlHTTPClient()
            do {
                _ = try await untrusting.send(HTTPRequest(url: server.baseURL + "/healthz"))
                XCTFail("a self-signed certificate was accepted without being trusted")
            } catch let failure as HTTPFailure {
                XCTAssertEqual(failure.reason, .tls)
            }
        }
    }

    func testTLSNeedsBothFilesAsPEM() async throws {
        let pair = try selfSignedPair()
        defer { try? FileManager.default.removeItem(at: pair.folder) }
        try await withServer { fixture in
            var configuration = ServerConfiguration(listen: try ListenAddress(parsing: "127.0.0.1:0"))
            configuration.tlsCertificateFile = pair.cert
            XCTAssertThrowsError(try SpeechServer(configuration, backend: fixture.backend, logger: .disabled)) { error in
                XCTAssertTrue((error as? TTSError)?.message.contains("--tls-key") == true, "\(error)")
            }
            configuration.tlsKeyFile = pair.folder.appendingPathComponent("missing.pem").path
            XCTAssertThrowsError(try SpeechServer(configuration, backend: fixture.backend, logger: .disabled)) { error in
                XCTAssertEqual((error as? TTSError)?.kind, .config)
            }
        }
    }

    func testAClientThatSendsNothingIsDroppedAfterTheIdleTimeout() async throws {
        try await withServer(ServerFixture.Options(idleTimeoutSeconds: 1)) { server in
            // Half a request line, then silence: the server closes the connection, which the
            // client sees as the end of the stream (0), not as its own 20 s receive timeout.
            let connection = try RawConnection(port: server.server.address.port)
            connection.send("GET /heal")
            XCTAssertEqual(connection.receiveByte(), 0, "the idle connection was not closed by the server (errno \(errno))")
            let after = try await server.get("/healthz")
            XCTAssertEqual(after.status, 200)
        }
    }
}

/// A plain TCP connection to the test server, for what curl will not do (say nothing).
private final class RawConnection {
    let fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TTSError(.internal, "socket() failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(fd)
            throw TTSError(.internal, "cannot connect to 127.0.0.1:\(port)")
        }
        var timeout = timeval(tv_sec: 20, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    func send(_ text: String) {
        _ = Array(text.utf8).withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// 0 when the server closed the connection, -1 on the receive timeout, 1 for a byte.
    func receiveByte() -> Int {
        var byte: UInt8 = 0
        return recv(fd, &byte, 1, 0)
    }
}
