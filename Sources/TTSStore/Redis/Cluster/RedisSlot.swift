import Foundation

/// The hash slot Redis Cluster assigns a key to: CRC16 (XMODEM) of the key, or of its hash
/// tag, modulo 16384.
///
/// A hash tag is the part between the first `{` and the next `}` when that part is not empty:
/// `tts:clip:{ab12…}` and `tts:lock:{ab12…}` share a slot, so one node holds both and a
/// script may touch them together.
///
/// ```swift
/// RedisSlot(key: "foo").value                    // 12182
/// RedisSlot(key: "{user1000}.following") == RedisSlot(key: "{user1000}.followers")   // true
/// ```
public struct RedisSlot: Sendable, Hashable, CustomStringConvertible {
    public static let count = 16_384
    public let value: Int

    public init(_ value: Int) {
        precondition((0..<RedisSlot.count).contains(value), "a hash slot is 0…16383")
        self.value = value
    }

    public init(key: String) { self.init(key: Data(key.utf8)) }

    public init(key: Data) {
        value = key.withUnsafeBytes { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            let tagged = RedisSlot.hashTag(in: bytes)
            return Int(RedisSlot.crc16(UnsafeBufferPointer(rebasing: bytes[tagged]))) & (RedisSlot.count - 1)
        }
    }

    public var description: String { String(value) }

    /// The range of `key` that is hashed: the tag when there is a non-empty one, else all of it
    /// (the rule of the Redis Cluster specification, including `{}` counting as no tag).
    static func hashTag(in key: UnsafeBufferPointer<UInt8>) -> Range<Int> {
        guard let open = key.firstIndex(of: UInt8(ascii: "{")),
              let close = key[(open + 1)...].firstIndex(of: UInt8(ascii: "}")),
              close > open + 1 else {
            return 0..<key.count
        }
        return (open + 1)..<close
    }

    /// CRC16-CCITT (XMODEM): polynomial 0x1021, initial value 0, no reflection.
    static func crc16(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt16 {
        var crc: UInt16 = 0
        for byte in bytes {
            crc = (crc << 8) ^ table[Int(UInt8(truncatingIfNeeded: crc >> 8) ^ byte)]
        }
        return crc
    }

    static func crc16(_ text: String) -> UInt16 {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBufferPointer { crc16($0) }
    }

    private static let table: [UInt16] = (0..<256).map { index -> UInt16 in
        var crc = UInt16(index) << 8
        for _ in 0..<8 { crc = crc & 0x8000 != 0 ? (crc << 1) ^ 0x1021 : crc << 1 }
        return crc
    }
}
