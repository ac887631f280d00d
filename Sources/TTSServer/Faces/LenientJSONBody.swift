import Foundation
import TTSCore

/// A request body read as one JSON object, with typed look-ups that name the field at fault:
/// the compatibility faces answer malformed JSON and wrong types with a 400 that says which
/// field, as the APIs they imitate do. Lenient where the native API's body is strict: fields
/// it does not read are ignored, because the SDKs send some (`safetySettings`, `user`, …) that
/// do not change the speech.
struct LenientJSONBody {
    let root: JSONValue

    /// Throws a 400 when the body is not JSON or not an object.
    init(_ body: Data) throws(APIError) {
        let text = String(decoding: body, as: UTF8.self)
        guard !text.allSatisfy(\.isWhitespace) else {
            throw APIError(status: 400, "the request body is empty: send a JSON object")
        }
        guard let value = try? JSONValue.parse(text) else {
            throw APIError(status: 400, "the request body is not valid JSON: send a JSON object")
        }
        guard case .object = value else {
            throw APIError(status: 400, "the request body must be a JSON object")
        }
        root = value
    }
}

extension JSONValue {
    /// The first of `names` present in this object and not `null` (camelCase or snake_case
    /// spellings of one field).
    func member(_ names: String...) -> JSONValue? {
        for name in names {
            if let value = self[name], value != .null { return value }
        }
        return nil
    }

    /// This value as a string, or a 400 naming `field`.
    func string(field: String) throws(APIError) -> String {
        guard case .string(let text) = self else {
            throw APIError(status: 400, "'\(field)' must be a string", field: field)
        }
        return text
    }

    /// This value as a number, or a 400 naming `field`.
    func number(field: String) throws(APIError) -> Double {
        switch self {
        case .int(let value): return Double(value)
        case .double(let value): return value
        default: throw APIError(status: 400, "'\(field)' must be a number", field: field)
        }
    }

    /// This value as an array, or a 400 naming `field`.
    func array(field: String) throws(APIError) -> [JSONValue] {
        guard case .array(let items) = self else {
            throw APIError(status: 400, "'\(field)' must be an array", field: field)
        }
        return items
    }

    /// This value checked to be an object, or a 400 naming `field`.
    func object(field: String) throws(APIError) -> JSONValue {
        guard case .object = self else {
            throw APIError(status: 400, "'\(field)' must be an object", field: field)
        }
        return self
    }
}

extension DeliveredAudio {
    /// The audio as bytes, for answers that embed it (base64 in JSON, SSE events). A file is
    /// read on a Dispatch thread: a blocking read must not hold one of the cooperative pool's
    /// few threads.
    func bytes() async throws -> Data {
        switch content {
        case .bytes(let data): return data
        case .file(let path, _):
            return try await withCheckedThrowingContinuation { continuation in
                DispatchQueue.global().async {
                    continuation.resume(with: Result { try Data(contentsOf: URL(fileURLWithPath: path)) })
                }
            }
        }
    }
}
