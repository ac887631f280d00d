import Foundation
import TTSCore

/// The checked, keyed and de-duplicated form of a phrase list: what both a local pre-warm and
/// `prewarm --queue` start from. Every phrase is validated and resolved before any engine call
/// or queue write, so a bad line is reported with its number and never costs anything.
struct PrewarmPlan: Sendable {
    /// One distinct request and the entries (by index) that ask for it.
    struct Item: Sendable {
        var request: AudioRequest
        var key: RequestKey
        var entries: [Int]
    }

    var items: [Item] = []
    /// Unreadable lines and invalid requests, in the order found.
    var rejects: [PrewarmReject] = []
    /// Valid phrases that asked for a request an earlier line already asked for.
    var duplicates = 0
    /// The calling task was cancelled before every phrase was checked.
    var cancelled = false

    static func make(_ list: PhraseList, defaults: AudioRequest, service: SpeechService) async -> PrewarmPlan {
        var plan = PrewarmPlan()
        plan.rejects = list.problems.map {
            PrewarmReject(line: $0.line, reason: $0.reason, cause: .unreadable, entry: nil, problem: $0)
        }
        var itemByKey: [RequestKey: Int] = [:]
        for (i, entry) in list.entries.enumerated() {
            if i % 256 == 0 && Task.isCancelled { break }
            let request: AudioRequest
            do {
                request = try await service.prepare(entry.request(defaults: defaults))
            } catch {
                plan.rejects.append(PrewarmReject(line: entry.line, reason: TTSError.message(of: error), cause: .invalid,
                                                  entry: entry, problem: nil))
                continue
            }
            let key = RequestKey(request)
            if let j = itemByKey[key] {
                plan.items[j].entries.append(i)
                plan.duplicates += 1
            } else {
                itemByKey[key] = plan.items.count
                plan.items.append(Item(request: request, key: key, entries: [i]))
            }
        }
        plan.cancelled = Task.isCancelled
        return plan
    }
}
