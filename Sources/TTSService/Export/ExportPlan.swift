import Foundation
import TTSCore
import TTSStore

/// What an export will write: the items (selection → items) and the file each gets (items →
/// names). Built before anything touches the disk, so `--dry-run` and the real run agree.
///
/// ```swift
/// let items = try ExportPlan.items(in: index, matching: ClipFilter(voice: "en-us"))
/// let plan = ExportPlan(items: items, template: try FileNameTemplate("{voice}/{slug}.wav"))
/// plan.files.map(\.path)   // ["en-us/good-morning.wav", …]
/// ```
public struct ExportPlan: Sendable {
    public let items: [ExportItem]
    public let files: [FileNamer.Named]

    public init(items: [ExportItem], template: FileNameTemplate) {
        self.items = items
        files = FileNamer.assign(items, template: template, reserved: ManifestFormat.reservedNames)
    }

    /// Every clip matching `filter`, oldest first (then by key), numbered from 1: a clip made
    /// later gets a later `{n}` and never renumbers the ones before it.
    public static func items(in index: ClipIndex, matching filter: ClipFilter) throws -> [ExportItem] {
        let clips = try index.clips(matching: filter)
            .sorted { ($0.createdAt, $0.key.hex) < ($1.createdAt, $1.key.hex) }
        return clips.enumerated().map { ExportItem(clip: $1, n: $0 + 1) }
    }

    /// Every clip of the local tier matching `filter`, numbered as above.
    public static func items(in local: LocalTier, matching filter: ClipFilter) throws -> [ExportItem] {
        try items(in: local.index, matching: filter)
    }
}
