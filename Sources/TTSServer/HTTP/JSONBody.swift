import Foundation
import TTSCore

/// A JSON object from a request body, read field by field with the type each field must have.
/// Every problem is an `APIError` 400 that names the field, so a client learns what to fix.
///
/// ```swift
/// let body = try JSONBody(request.body, accepted: ["text", "voice"])
/// let text = try body.string("text", required: true)
/// ```
struct JSONBody {
    private let fields: [(String, JSONValue)]

    init(_ data: Data, accepted: [String]) throws {
        let text = String(decoding: data, as: UTF8.self)
        let value: JSONValue
        do {
            value = try JSONValue.parse(text)
        } catch {
            throw APIError(status: 400, "the request body is not valid JSON: send an object such as {\"text\": \"Hello\"}", field: "body")
        }
        guard case .object(let fields) = value else {
            throw APIError(status: 400, "the request body must be a JSON object such as {\"text\": \"Hello\"}", field: "body")
        }
        if let unknown = fields.first(where: { !accepted.contains($0.0) }) {
            throw APIError(status: 400, "unknown field '\(unknown.0)'; accepted: \(accepted.joined(separator: ", "))", field: unknown.0)
        }
        self.fields = fields
    }

    func value(_ name: String) -> JSONValue? {
        guard let value = fields.first(where: { $0.0 == name })?.1 else { return nil }
        if case .null = value { return nil }
        return value
    }

    /// A string field; nil when absent or null.
    func string(_ name: String, required: Bool = false) throws -> String? {
        guard let value = value(name) else {
            if required { throw APIError(status: 400, "the field '\(name)' is required", field: name) }
            return nil
        }
        guard case .string(let text) = value else {
            throw APIError(status: 400, "the field '\(name)' must be a string, not \(JSONBody.typeName(value))", field: name)
        }
        return text
    }

    /// A boolean field; false when absent or null.
    func bool(_ name: String) throws -> Bool {
        guard let value = value(name) else { return false }
        guard case .bool(let flag) = value else {
            throw APIError(status: 400, "the field '\(name)' must be true or false, not \(JSONBody.typeName(value))", field: name)
        }
        return flag
    }

    static func typeName(_ value: JSONValue) -> String {
        switch value {
        case .string: "a string"
        case .int, .double: "a number"
        case .bool: "a boolean"
        case .null: "null"
        case .array: "an array"
        case .object: "an object"
        }
    }
}
