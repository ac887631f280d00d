import Foundation

/// Removes a test's temporary folder when the last value holding it goes away, for fixtures
/// that are structs (copied freely) and so cannot have a deinit of their own.
///
/// ```swift
/// struct Fixture { let root: URL; private let removal: FolderRemoval }
/// ```
public final class FolderRemoval: Sendable {
    public let url: URL

    public init(_ url: URL) {
        self.url = url
    }

    deinit {
        try? FileManager.default.removeItem(at: url)
    }
}
