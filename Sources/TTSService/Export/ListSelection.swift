import Foundation
import TTSCore

/// `export --list FILE`: exactly the phrases of a phrase list, in its order, each resolved and
/// keyed as `say` would; the ones not in the cache are reported (or generated first by the
/// caller with `--generate`).
public struct ListSelection: Sendable {
    /// One item per list entry whose clip is cached, `n` its 1-based position in the list.
    public var items: [ExportItem] = []
    /// Entries whose clip is not in the local tier.
    public var missing: [PhraseEntry] = []
    /// Lines that could not be read, and entries that are not valid requests.
    public var problems: [PhraseProblem] = []

    /// Resolves every entry against `defaults` (the session) and looks its clip up locally.
    public static func select(_ list: PhraseList, defaults: AudioRequest, service: SpeechService) async -> ListSelection {
        var selection = ListSelection()
        selection.problems = list.problems
        for (position, entry) in list.entries.enumerated() {
            do {
                let request = try await service.prepare(entry.request(defaults: defaults))
                if let clip = try service.local.clip(for: RequestKey(request)) {
                    selection.items.append(ExportItem(clip: clip, n: position + 1, id: entry.id))
                } else {
                    selection.missing.append(entry)
                }
            } catch {
                let reason = TTSError.message(of: error)
                selection.problems.append(PhraseProblem(source: list.source, line: entry.line, reason: reason,
                                                        record: Data(entry.text.utf8), context: entry))
            }
        }
        return selection
    }
}
