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
}
