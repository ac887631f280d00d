import Foundation

/// CRC-32 (IEEE 802.3, the ZIP and gzip polynomial), byte by byte from a 256-entry table.
///
/// Written here rather than taken from zlib: it is twenty lines, the exports it checks are a
/// few megabytes, and it saves a C target for one function.
///
/// ```swift
/// CRC32.checksum(Data("123456789".utf8))   // 0xCBF43926
/// ```
public struct CRC32: Sendable {
    private static let table: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    private var state: UInt32 = 0xFFFF_FFFF

    public init() {}

    public mutating func update(_ data: Data) {
        var c = state
        data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) in
            Self.table.withUnsafeBufferPointer { table in
                for byte in bytes { c = table[Int((c ^ UInt32(byte)) & 0xFF)] ^ (c >> 8) }
            }
        }
        state = c
    }

    public var value: UInt32 { state ^ 0xFFFF_FFFF }

    public static func checksum(_ data: Data) -> UInt32 {
        var crc = CRC32()
        crc.update(data)
        return crc.value
    }
}

/// Writes a ZIP archive whose entries are stored, not compressed: WAV audio shrinks by a few
/// per cent under deflate, not worth the time or a dependency. Each entry is written as it is
/// added (local header, then the bytes), so a caller can pass files one at a time to any
/// output; `finish()` writes the central directory.
///
/// Classic ZIP only (no ZIP64): at most 65,535 entries and 4 GiB in all, which the caller
/// bounds. Names are UTF-8 (general purpose flag bit 11).
///
/// ```swift
/// var zip = ZipWriter { data in output.append(data) }
/// try zip.add("hello.wav", wav, modified: clip.createdAt)
/// try zip.finish()
/// ```
public struct ZipWriter {
    private struct CentralEntry {
        var name: [UInt8]
        var crc: UInt32
        var size: UInt32
        var offset: UInt32
        var time: UInt16
        var date: UInt16
    }

    private let write: (Data) throws -> Void
    private var entries: [CentralEntry] = []
    private var offset = 0

    public static let maxEntries = 65_535
    public static let maxBytes = Int(UInt32.max)

    public init(write: @escaping (Data) throws -> Void) { self.write = write }

    /// Adds one stored entry. Throws when the archive would outgrow classic ZIP's limits.
    public mutating func add(_ name: String, _ data: Data, modified: Date = Date()) throws {
        let nameBytes = Array(name.utf8)
        guard entries.count < Self.maxEntries, nameBytes.count <= Int(UInt16.max),
              offset + 30 + nameBytes.count + data.count <= Self.maxBytes else {
            throw ZipError.tooLarge
        }
        let crc = CRC32.checksum(data)
        let (time, date) = Self.dosTime(modified)
        var header = Data()
        header.appendLE(UInt32(0x0403_4B50))
        header.appendLE(UInt16(20))          // version needed: 2.0
        header.appendLE(UInt16(0x0800))      // UTF-8 names
        header.appendLE(UInt16(0))           // method: stored
        header.appendLE(time)
        header.appendLE(date)
        header.appendLE(crc)
        header.appendLE(UInt32(data.count))  // compressed size
        header.appendLE(UInt32(data.count))  // uncompressed size
        header.appendLE(UInt16(nameBytes.count))
        header.appendLE(UInt16(0))           // extra field length
        header.append(contentsOf: nameBytes)
        try write(header)
        try write(data)
        entries.append(CentralEntry(name: nameBytes, crc: crc, size: UInt32(data.count), offset: UInt32(offset),
                                    time: time, date: date))
        offset += header.count + data.count
    }

    /// Writes the central directory and its end record; the archive is complete after this.
    public mutating func finish() throws {
        var directory = Data()
        for entry in entries {
            directory.appendLE(UInt32(0x0201_4B50))
            directory.appendLE(UInt16(0x031E))   // made by: Unix, 3.0
            directory.appendLE(UInt16(20))
            directory.appendLE(UInt16(0x0800))
            directory.appendLE(UInt16(0))
            directory.appendLE(entry.time)
            directory.appendLE(entry.date)
            directory.appendLE(entry.crc)
            directory.appendLE(entry.size)
            directory.appendLE(entry.size)
            directory.appendLE(UInt16(entry.name.count))
            directory.appendLE(UInt16(0))        // extra
            directory.appendLE(UInt16(0))        // comment
            directory.appendLE(UInt16(0))        // disk number
            directory.appendLE(UInt16(0))        // internal attributes
            directory.appendLE(UInt32(0o100644) << 16)  // external: a regular file, rw-r--r--
            directory.appendLE(entry.offset)
            directory.append(contentsOf: entry.name)
        }
        let directorySize = directory.count
        guard offset + directorySize + 22 <= Self.maxBytes else { throw ZipError.tooLarge }
        directory.appendLE(UInt32(0x0605_4B50))
        directory.appendLE(UInt16(0))
        directory.appendLE(UInt16(0))
        directory.appendLE(UInt16(entries.count))
        directory.appendLE(UInt16(entries.count))
        directory.appendLE(UInt32(directorySize))
        directory.appendLE(UInt32(offset))
        directory.appendLE(UInt16(0))
        try write(directory)
        offset += directory.count
    }

    /// MS-DOS time and date, in UTC (ZIP has no time zone; UTC keeps archives reproducible).
    static func dosTime(_ date: Date) -> (time: UInt16, date: UInt16) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        let year = min(max((c.year ?? 1980) - 1980, 0), 127)
        let time = UInt16((c.hour ?? 0) << 11 | (c.minute ?? 0) << 5 | (c.second ?? 0) / 2)
        let day = UInt16(year << 9 | (c.month ?? 1) << 5 | (c.day ?? 1))
        return (time, day)
    }
}

public enum ZipError: Error, Equatable {
    /// More than 65,535 entries or 4 GiB: beyond classic ZIP.
    case tooLarge
}

private extension Data {
    mutating func appendLE(_ value: UInt16) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }

    mutating func appendLE(_ value: UInt32) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }
}
