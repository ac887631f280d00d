import Foundation
import Synchronization

public enum LogLevel: String, Sendable, Comparable, CaseIterable {
    case debug, info, warn, error

    /// The order of severity, by a switch: `allCases.firstIndex` built an array per
    /// comparison, and a comparison guards a debug line on every hit.
    var rank: Int {
        switch self {
        case .debug: 0
        case .info: 1
        case .warn: 2
        case .error: 3
        }
    }

    init(rank: Int) {
        self = rank <= 0 ? .debug : rank == 1 ? .info : rank == 2 ? .warn : .error
    }

    public static func < (a: LogLevel, b: LogLevel) -> Bool { a.rank < b.rank }
}

/// Structured log: one JSON object per line, appended to a file so nothing clutters the REPL's
/// screen. Each line has `ts`, `level`, `event`, then the caller's fields.
///
/// ```swift
/// logger.info("generate", ["key": .string(key.short), "tier": "engine", "ms": 12])
/// ```
public final class Logger: @unchecked Sendable {
    /// Changes live (`config reload`); read without a lock (every hit asks).
    public var minimumLevel: LogLevel {
        get { LogLevel(rank: minimumRank.load(ordering: .relaxed)) }
        set { minimumRank.store(newValue.rank, ordering: .relaxed) }
    }
    private let minimumRank: Atomic<Int>
    private let handle: FileHandle?
    /// Guards writes to `handle` so lines from concurrent tasks never interleave.
    private let writeLock = NSLock()

    /// Opens (creating) the log file; a log that cannot be opened disables logging rather than
    /// failing the command, and `openError` says why.
    /// Removes configured secrets from every line (a service's error text may quote a key).
    private let redactor: Redactor

    public init(file: URL?, level: LogLevel, redactor: Redactor = .process) {
        minimumRank = Atomic(level.rank)
        self.redactor = redactor
        var handle: FileHandle?
        var openError: String?
        if let file {
            do {
                try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
                if !FileManager.default.fileExists(atPath: file.path) {
                    _ = FileManager.default.createFile(atPath: file.path, contents: nil, attributes: [.posixPermissions: 0o600])
                }
                handle = try FileHandle(forWritingTo: file)
                try handle?.seekToEnd()
            } catch {
                openError = "cannot open log file \(file.path): \(FileSystemReason.describe(error, path: file.path))"
            }
        }
        self.handle = handle
        self.openError = openError
    }

    public let openError: String?

    /// A logger that writes nothing, for tests and tools.
    public static let disabled = Logger(file: nil, level: .error)

    public func log(_ level: LogLevel, _ event: String, _ fields: [(String, JSONValue)] = []) {
        guard let handle, level >= minimumLevel else { return }
        let timestamp = Date().timeIntervalSince1970
        let line = redactor.redact(JSONValue.object([("ts", .double((timestamp * 1000).rounded() / 1000)), ("level", .string(level.rawValue)),
                                                     ("event", .string(event))] + fields).serialized()) + "\n"
        writeLock.lock()
        defer { writeLock.unlock() }
        try? handle.write(contentsOf: Data(line.utf8))
    }

    public func debug(_ event: String, _ fields: [(String, JSONValue)] = []) { log(.debug, event, fields) }
    public func info(_ event: String, _ fields: [(String, JSONValue)] = []) { log(.info, event, fields) }
    public func warn(_ event: String, _ fields: [(String, JSONValue)] = []) { log(.warn, event, fields) }
    public func error(_ event: String, _ fields: [(String, JSONValue)] = []) { log(.error, event, fields) }
}
