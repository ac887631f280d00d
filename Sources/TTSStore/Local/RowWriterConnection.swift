import Foundation
import Synchronization
import TTSCore

/// The connection the rows written after their answers (`PendingRows`) go through: a second
/// one to the index file, opened at the first batch.
///
/// Written through the index's own connection, a batch held it for its whole transaction, and
/// the hits that came meanwhile waited in their local look-up (which takes that connection)
/// for the batch to commit: a Redis hit met by a batch took up to twice as long (bench/NOTES.md,
/// 2026-12-06). On a connection of its own the batch only shares the file with them, which WAL
/// lets a writer do beside readers.
final class RowWriterConnection: Sendable {
    private struct State {
        var database: SQLiteDatabase?
        /// After `close()`: nothing more is written.
        var closed = false
    }

    private let url: URL
    private let busyTimeoutMs: Int
    private let commits: CommitCounter
    /// Held for a whole write, so `close` and `reset` wait for a batch in flight.
    private let state = Mutex(State())

    init(url: URL, busyTimeoutMs: Int, commits: CommitCounter) {
        self.url = url
        self.busyTimeoutMs = busyTimeoutMs
        self.commits = commits
    }

    /// Runs `body` on the connection, opening it first if needed. SQLite failures become
    /// `.store` errors naming the file; after `close()` it throws.
    func write<T: Sendable>(_ body: (SQLiteDatabase) throws -> T) throws -> T {
        try state.withLock { state in
            guard !state.closed else { throw TTSError(.store, "the index \(url.path) was closed before its rows were written") }
            do {
                if state.database == nil { state.database = try ClipIndex.openWriter(url, busyTimeoutMs: busyTimeoutMs, commits: commits) }
                return try body(state.database!)
            } catch let error as SQLiteError {
                throw error.storeError(file: url.path, busyTimeoutMs: busyTimeoutMs)
            }
        }
    }

    /// Closes the connection (the index file was replaced: `rebuild`, which closed the index
    /// first); the next write opens one on the new file, closed or not before.
    func reset() {
        state.withLock { state in
            state.database?.close()
            state.database = nil
            state.closed = false
        }
    }

    /// Closes the connection for good.
    func close() {
        state.withLock { state in
            state.database?.close()
            state.database = nil
            state.closed = true
        }
    }
}
