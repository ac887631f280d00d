import Foundation
import TTSCore
import TTSService
import XCTest
@testable import tts_repl

/// Every command's options are declared once; parsing, help and completion are derived from
/// that declaration. These tests walk the whole table, so a command added later is checked too.
final class CommandDeclarationTests: XCTestCase {
    private let table = makeCommandTable()
    private lazy var completer = Completer(table: table, engines: EngineRegistry())

    func testEveryOptionACommandAcceptsIsOfferedByCompletionAndShownInHelp() throws {
        for command in table.commands {
            let offered = completer.complete("\(command.name) --", cursor: command.name.count + 3, engine: "espeak")
            let help = command.helpText
            for option in command.options {
                XCTAssertTrue(offered.contains("--" + option.name), "\(command.name): Tab does not offer --\(option.name) (offered \(offered))")
                XCTAssertTrue(help.contains(option.synopsis), "\(command.name): help does not show \(option.synopsis)")
                XCTAssertTrue(command.usage.contains("[\(option.synopsis)]"), "\(command.name): usage lacks --\(option.name)")
                XCTAssertFalse(option.help.isEmpty, "\(command.name): --\(option.name) has no help")
                // The run path accepts it: the parser takes it with a value of its type.
                let given = ["--" + option.name] + (sampleValue(option).map { [$0] } ?? [])
                let required = [String](repeating: "x", count: command.arguments.filter { !$0.isOptional }.count)
                // A text command takes its options before the text.
                let input = command.input == .text ? [(given + ["some text"]).joined(separator: " ")] : required + given
                let parsed = try command.parse(input)
                XCTAssertTrue(parsed.given(option.name), "\(command.name): --\(option.name) parsed but not recorded")
            }
            // Every value Tab offers for an option is one the parser accepts.
            for option in command.options where !option.isFlag {
                guard case .words(let values) = option.valueCompletion else { continue }
                for value in values {
                    XCTAssertNoThrow(try option.parse(value, command: command.name), "\(command.name) --\(option.name) \(value)")
                }
            }
            XCTAssertEqual(command.options.count, Set(command.options.map(\.name)).count, "\(command.name) declares an option twice")
        }
    }

    func testTheJSONHelpListsTheSameOptions() {
        for command in table.commands {
            guard case .object(let fields) = command.helpJSON,
                  case .array(let options)? = fields.first(where: { $0.0 == "options" })?.1 else {
                return XCTFail("\(command.name): help --json has no options array")
            }
            let names = options.compactMap { option -> String? in
                guard case .object(let fields) = option, case .string(let name)? = fields.first(where: { $0.0 == "name" })?.1 else { return nil }
                return name
            }
            XCTAssertEqual(names, command.options.map { "--" + $0.name }, command.name)
        }
    }

    /// `export --json` was parsed but not offered by Tab before options were declared once.
    func testExportOffersItsJSONFlag() {
        XCTAssertEqual(completer.complete("export out --js", cursor: 15, engine: "espeak"), ["--json"])
        XCTAssertTrue(table.command(named: "export")!.helpText.contains("--json"))
    }

    func testTheREADMEsCommandReferenceNamesOnlyDeclaredOptions() throws {
        let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("README.md")
        let text = try String(contentsOf: readme, encoding: .utf8)
        var checked = 0
        var section = ""
        var serveTable: Set<String> = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("## ") { section = String(line) }
            guard line.hasPrefix("| `") else { continue }
            let cell = String(line.dropFirst(2)).components(separatedBy: " | ")[0]
            // The serve command's own table: one option per row.
            if section.hasPrefix("## Serving over HTTP"), cell.hasPrefix("`--") {
                for name in optionNames(in: cell) {
                    XCTAssertTrue(declares("serve", name), "README's serve table names --\(name), which serve does not take")
                    serveTable.insert(name)
                    checked += 1
                }
                continue
            }
            for code in cell.components(separatedBy: "`").enumerated().filter({ $0.offset % 2 == 1 }).map(\.element) {
                guard let word = code.split(separator: " ").first, let command = table.command(named: String(word)) else { continue }
                for name in optionNames(in: code) {
                    XCTAssertTrue(declares(command.name, name), "README: `\(code)` names --\(name), which \(command.name) does not take")
                    checked += 1
                }
            }
        }
        XCTAssertGreaterThan(checked, 30, "the README's command tables were not found")
        // The serve table is the reference for its options: every one has a row.
        let serve = try XCTUnwrap(table.command(named: "serve"))
        XCTAssertEqual(Set(serve.options.map(\.name)).subtracting(serveTable).sorted(), [], "serve options missing from the README's table")
    }

    // MARK: helpers

    private func optionNames(in text: String) -> [String] {
        let pattern = try! NSRegularExpression(pattern: "--([a-z][a-z-]*)")
        return pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)).map {
            String(text[Range($0.range(at: 1), in: text)!])
        }
    }

    private func declares(_ command: String, _ option: String) -> Bool {
        table.command(named: command)?.options.contains { $0.name == option } ?? false
    }

    private func sampleValue(_ option: CommandOption) -> String? {
        switch option.value {
        case .flag: nil
        case .text: "value"
        case .integer(_, let range, _, _): String(range.lowerBound)
        case .duration: "1.5"
        case .byteSize: "1MiB"
        case .date: "2025-01-31"
        case .choice(let values, _, _): values[0]
        }
    }
}
