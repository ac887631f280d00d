import Foundation
import XCTest
@testable import TTSCore

/// The README's settings table is written for people, but it must name exactly the settings
/// `Setting.all` declares (the loader, `config` and the table come from one list).
final class SettingsDocumentationTests: XCTestCase {
    func testTheREADMEsSettingsTableNamesEverySettingAndNoOther() throws {
        let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("README.md")
        let text = try String(contentsOf: readme, encoding: .utf8)
        var documented: [String] = []
        for line in text.split(separator: "\n") where line.hasPrefix("| `") {
            let name = line.dropFirst(3).prefix { $0 != "`" }
            if !name.isEmpty && name.allSatisfy({ $0.isUppercase || $0 == "_" || $0.isNumber }) { documented.append(String(name)) }
        }
        let declared = Setting.all.map(\.name)
        XCTAssertEqual(Set(documented).subtracting(declared).sorted(), [], "rows in the README with no Setting")
        XCTAssertEqual(Set(declared).subtracting(documented).sorted(), [], "settings missing from the README's table")
        XCTAssertEqual(documented.count, Set(documented).count, "a setting documented twice")
        // Each flag a setting declares is the one the table names.
        for setting in Setting.all {
            guard let flag = setting.flag, let row = text.split(separator: "\n").first(where: { $0.hasPrefix("| `\(setting.name)`") }) else { continue }
            XCTAssertTrue(row.contains("`\(flag)`"), "\(setting.name): the README's row does not name \(flag)")
        }
    }

    /// One declaration per setting: its default is the value the loader uses, so it must be a
    /// value its own kind accepts, and the README's row must show it.
    func testEveryDeclaredDefaultParsesByItsKindAndTheREADMEShowsIt() throws {
        let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("README.md")
        let rows = try String(contentsOf: readme, encoding: .utf8).split(separator: "\n")
        for setting in Setting.all {
            guard let value = setting.defaultValue else { continue }
            switch setting.kind {
            case .text: break
            case .choice: XCTAssertNoThrow(try setting.choice(value), setting.name)
            case .wholeNumber: XCTAssertNoThrow(try setting.wholeNumber(value), setting.name)
            case .duration: XCTAssertNoThrow(try setting.seconds(value), setting.name)
            case .byteSize: XCTAssertNoThrow(try setting.byteSize(value), setting.name)
            case .onOff: XCTAssertNoThrow(try setting.onOff(value), setting.name)
            case .price: XCTAssertNoThrow(try setting.price(value), setting.name)
            }
            let row = try XCTUnwrap(rows.first { $0.hasPrefix("| `\(setting.name)`") }, setting.name)
            let columns = row.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            XCTAssertTrue(columns.count > 2 && columns[2].contains("`\(value)`"),
                          "\(setting.name): the README's default column does not show `\(value)`: \(row)")
        }
    }

    /// The loader takes the default from the declaration and refuses with the declared range.
    func testTheLoaderUsesTheDeclaredDefaultAndRange() throws {
        let loaded = try Configuration.load(environment: ["HOME": "/tmp"])
        XCTAssertEqual(loaded.retryAttempts, try Setting.retryAttempts.wholeNumber(try XCTUnwrap(Setting.retryAttempts.defaultValue)))
        XCTAssertEqual(loaded.redisTTLSeconds, 30 * 86_400)
        guard case .wholeNumber(let range) = Setting.concurrency.kind else { return XCTFail("concurrency is a whole number") }
        XCTAssertThrowsError(try Configuration.load(environment: ["HOME": "/tmp", "TTS_CONCURRENCY": String(range.upperBound + 1)])) { error in
            XCTAssertTrue(TTSError.message(of: error).contains("from \(range.lowerBound) to \(range.upperBound)"), TTSError.message(of: error))
        }
        XCTAssertThrowsError(try Configuration.load(environment: ["HOME": "/tmp", "TTS_REQUEST_TIMEOUT": "0"])) { error in
            XCTAssertTrue(TTSError.message(of: error).contains("TTS_REQUEST_TIMEOUT is '0'"), TTSError.message(of: error))
        }
    }
}
