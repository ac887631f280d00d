import Foundation

/// A strict reader of the Prometheus text exposition format (0.0.4), for tests that parse
/// `metrics` output back line by line: every line must be a `# HELP`, a `# TYPE` or a sample
/// of a declared metric, or parsing fails with the line number.
public struct PrometheusText {
    public struct Sample: Equatable {
        public var name: String
        public var labels: [String: String]
        public var value: Double
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public var help: [String: String] = [:]
    public var types: [String: String] = [:]
    public var samples: [Sample] = []

    public init(parsing text: String) throws {
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = String(raw)
            func fail(_ why: String) -> Failure { Failure(description: "line \(number + 1) '\(line)': \(why)") }
            if line.isEmpty { continue }
            if line.hasPrefix("# HELP ") {
                let rest = line.dropFirst(7)
                guard let space = rest.firstIndex(of: " ") else { throw fail("HELP without text") }
                help[String(rest[..<space])] = String(rest[rest.index(after: space)...])
                continue
            }
            if line.hasPrefix("# TYPE ") {
                let parts = line.dropFirst(7).split(separator: " ")
                guard parts.count == 2, ["counter", "gauge", "histogram", "summary", "untyped"].contains(String(parts[1])) else {
                    throw fail("bad TYPE")
                }
                types[String(parts[0])] = String(parts[1])
                continue
            }
            if line.hasPrefix("#") { continue }
            guard let valueSpace = line.lastIndex(of: " "), let value = Double(line[line.index(after: valueSpace)...].replacingOccurrences(of: "+Inf", with: "inf")) else {
                throw fail("no numeric value")
            }
            let series = line[..<valueSpace]
            var name = String(series)
            var labels: [String: String] = [:]
            if let open = series.firstIndex(of: "{") {
                guard series.hasSuffix("}") else { throw fail("unclosed labels") }
                name = String(series[..<open])
                labels = try PrometheusText.parseLabels(String(series[series.index(after: open)..<series.index(before: series.endIndex)]), fail: fail)
            }
            guard name.range(of: "^[a-zA-Z_:][a-zA-Z0-9_:]*$", options: .regularExpression) != nil else { throw fail("bad metric name") }
            let family = types[name] != nil ? name
                : ["_bucket", "_sum", "_count"].compactMap { name.hasSuffix($0) ? String(name.dropLast($0.count)) : nil }.first { types[$0] == "histogram" }
            guard let family, help[family] != nil else { throw fail("sample of an undeclared metric") }
            samples.append(Sample(name: name, labels: labels, value: value))
        }
    }

    private static func parseLabels(_ text: String, fail: (String) -> Failure) throws -> [String: String] {
        var labels: [String: String] = [:]
        var rest = Substring(text)
        while !rest.isEmpty {
            guard let eq = rest.firstIndex(of: "="), rest[rest.index(after: eq)...].hasPrefix("\"") else { throw fail("bad label") }
            let name = String(rest[..<eq])
            var value = ""
            var index = rest.index(eq, offsetBy: 2)
            var closed = false
            while index < rest.endIndex {
                let character = rest[index]
                if character == "\\" {
                    index = rest.index(after: index)
                    guard index < rest.endIndex else { break }
                    value.append(rest[index] == "n" ? "\n" : rest[index])
                } else if character == "\"" {
                    closed = true
                    break
                } else {
                    value.append(character)
                }
                index = rest.index(after: index)
            }
            guard closed else { throw fail("unterminated label value") }
            labels[name] = value
            rest = rest[rest.index(after: index)...]
            if rest.hasPrefix(",") { rest = rest.dropFirst() }
        }
        return labels
    }

    /// The value of the one sample with this name and these labels (exactly), or nil.
    public func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        samples.first { $0.name == name && $0.labels == labels }?.value
    }
}
