import Foundation
import XCTest
import TTSCore
@testable import TTSService

/// A clip with the given fields; the blob is fake (naming never reads audio).
func namingClip(_ text: String, voice: String = "en-us", language: String = "en-US", engine: String = "espeak") -> Clip {
    let request = AudioRequest(text: text, voice: voice, language: language, engine: engine, model: "m")
    return Clip(key: RequestKey(request), blob: BlobHash(of: Data(text.utf8)), request: request,
                bytes: 44, durationMs: 0, sampleRate: 22050)
}

final class ExportNamingTests: XCTestCase {
    let hostile = ["../../etc/passwd", "/absolute/path", "a\u{0}b\u{7}c\nd", "👋🌍", "مرحبا بالعالم",
                   "שלום \u{202E}gpj.exe", String(repeating: "Long sentence ", count: 22), ".hidden", "..", "."]

    func testSlugTransliteratesLatinAndDropsOtherScripts() {
        XCTAssertEqual(Slug.make("Crème brûlée, s'il vous plaît"), "creme-brulee-sil-vous-plait")
        XCTAssertEqual(Slug.make("Straße Øresund Łódź"), "strasse-oresund-lodz")
        XCTAssertEqual(Slug.make("Don’t STOP me now!"), "dont-stop-me-now")
        XCTAssertEqual(Slug.make("مرحبا بالعالم"), "clip")
        XCTAssertEqual(Slug.make("👋 Hello 🌍 42"), "hello-42")
        XCTAssertEqual(Slug.make("日本語"), "clip")
        XCTAssertEqual(Slug.make("   "), "clip")
    }

    func testSlugIsBoundedAndEndsAtAWord() {
        let slug = Slug.make(String(repeating: "abcdefg ", count: 40))
        XCTAssertLessThanOrEqual(slug.count, Slug.defaultMaxLength)
        XCTAssertFalse(slug.hasSuffix("-"))
        XCTAssertTrue(slug.split(separator: "-").allSatisfy { $0 == "abcdefg" }, slug)
        XCTAssertEqual(Slug.make(String(repeating: "x", count: 300)).count, Slug.defaultMaxLength)
    }

    func testNoTextTemplateOrValueCanNameAPathOutsideTheFolder() throws {
        let templates = ["{slug}-{key8}.wav", "../{slug}.wav", "/etc/{slug}.wav", "{voice}/{lang}/{id}.wav",
                         "../../{id}", "{id}/../../x.wav", "./{engine}/./{slug}", "{id}"]
        let root = URL(fileURLWithPath: "/export/root")
        for pattern in templates {
            let template = try FileNameTemplate(pattern)
            for (i, text) in hostile.enumerated() {
                let item = ExportItem(clip: namingClip(text, voice: "../..", language: "/x\u{0}"), n: i + 1, id: text)
                let path = template.render(item)
                XCTAssertFalse(path.isEmpty)
                XCTAssertFalse(path.hasPrefix("/"), path)
                for component in path.split(separator: "/", omittingEmptySubsequences: false) {
                    XCTAssertFalse(component.isEmpty, "empty component in \(path)")
                    XCTAssertFalse(component.hasPrefix("."), "\(pattern): \(path)")
                    XCTAssertLessThanOrEqual(component.utf8.count, 255)
                }
                XCTAssertFalse(path.unicodeScalars.contains {
                    $0.properties.generalCategory == .control || $0.properties.generalCategory == .format
                }, "\(pattern): \(path.debugDescription)")
                let resolved = root.appendingPathComponent(path).standardizedFileURL.path
                XCTAssertTrue(resolved.hasPrefix(root.path + "/"), "\(pattern) with \(text.debugDescription) → \(resolved)")
            }
        }
    }

    func testPlaceholdersAreFilledFromTheClipAndItem() throws {
        let clip = namingClip("Good morning", voice: "Kore", language: "en-GB", engine: "gemini")
        let item = ExportItem(clip: clip, n: 7, id: "greeting_01")
        let all = try FileNameTemplate("{engine}/{voice}/{lang}/{n}-{id}-{slug}-{key8}-{blob8}.wav")
        XCTAssertEqual(all.render(item), "gemini/Kore/en-GB/7-greeting_01-good-morning-\(clip.key.short)-\(clip.blob.short).wav")
        XCTAssertEqual(try FileNameTemplate("{key}").render(item), clip.key.hex)
        XCTAssertEqual(try FileNameTemplate("{id}.wav").render(ExportItem(clip: clip, n: 1)), "good-morning.wav",
                       "without an id, {id} is the slug")
        XCTAssertEqual(try FileNameTemplate().render(item), "good-morning-\(clip.key.short).wav")
    }

    func testMalformedTemplatesAreRefusedNamingThePlaceholders() {
        for pattern in ["", "{nope}.wav", "{slug", "slug}.wav"] {
            XCTAssertThrowsError(try FileNameTemplate(pattern)) { error in
                XCTAssertEqual((error as? TTSError)?.kind, .validation)
                XCTAssertTrue((error as? TTSError)?.message.contains("{slug}") == true)
            }
        }
    }

    func testCollidingNamesGetSuffixesInKeyOrderWhateverTheListingOrder() throws {
        let template = try FileNameTemplate("{slug}.wav")
        let clips = ["Hello!", "hello", "HELLO?", "Hello."].map { namingClip($0) }
        let items = clips.enumerated().map { ExportItem(clip: $1, n: $0 + 1) }
        let a = FileNamer.assign(items, template: template)
        let b = FileNamer.assign(items.reversed(), template: template)
        let mapA = Dictionary(uniqueKeysWithValues: a.map { ($0.item.clip.key, $0.path) })
        let mapB = Dictionary(uniqueKeysWithValues: b.map { ($0.item.clip.key, $0.path) })
        XCTAssertEqual(mapA, mapB)
        XCTAssertEqual(Set(a.map(\.path)), ["hello.wav", "hello-2.wav", "hello-3.wav", "hello-4.wav"])
        let byKey = clips.sorted { $0.key < $1.key }
        XCTAssertEqual(mapA[byKey[0].key], "hello.wav", "the lowest key keeps the plain name")
        XCTAssertEqual(mapA[byKey[3].key], "hello-4.wav")
    }

    func testNamesDifferingOnlyInCaseAreSeparated() throws {
        let items = [ExportItem(clip: namingClip("one"), n: 1, id: "Intro"),
                     ExportItem(clip: namingClip("two"), n: 2, id: "intro"),
                     ExportItem(clip: namingClip("three"), n: 3, id: "INTRO")]
        let named = FileNamer.assign(items, template: try FileNameTemplate("{id}.wav"))
        XCTAssertEqual(Set(named.map { $0.path.lowercased() }).count, 3, "\(named.map(\.path))")
    }

    func testSuffixSkipsANameAnotherClipAlreadyHas() throws {
        let items = [ExportItem(clip: namingClip("a"), n: 1, id: "a"), ExportItem(clip: namingClip("b"), n: 2, id: "a"),
                     ExportItem(clip: namingClip("c"), n: 3, id: "a-2")]
        let named = FileNamer.assign(items, template: try FileNameTemplate("{id}.wav"))
        XCTAssertEqual(Set(named.map(\.path)), ["a.wav", "a-2.wav", "a-3.wav"])
        XCTAssertEqual(named.first { $0.item.id == "a-2" }?.path, "a-2.wav", "a name a clip has by right is not taken from it")
    }

    func testClipNamedLikeTheManifestIsRenamed() throws {
        let items = [ExportItem(clip: namingClip("x"), n: 1, id: "MANIFEST.csv")]
        let plan = ExportPlan(items: items, template: try FileNameTemplate("{id}"))
        XCTAssertEqual(plan.files.map(\.path), ["MANIFEST-2.csv"])
    }

    func testTheSameClipTwiceUnderOneNameIsOneFile() throws {
        let clip = namingClip("again")
        let named = FileNamer.assign([ExportItem(clip: clip, n: 1), ExportItem(clip: clip, n: 2)], template: try FileNameTemplate())
        XCTAssertEqual(named.count, 1)
        XCTAssertEqual(named.first?.item.n, 1)
    }
}

final class ExportManifestTests: XCTestCase {
    let entries = [
        ManifestEntry(file: "a/b.wav", text: "Hello, \"world\"\r\nsecond line", voice: "en-us", language: "",
                      engine: "espeak", model: "espeak-ng", durationMs: 1051, sampleRate: 22050, bytes: 46424,
                      sha256: String(repeating: "a", count: 64), key: String(repeating: "b", count: 64)),
        ManifestEntry(file: "c.wav", text: " leading space, مرحبا 👋 \u{0}nul", voice: "de", language: "de-DE",
                      engine: "espeak", model: "espeak-ng", durationMs: 1, sampleRate: 8000, bytes: 59,
                      sha256: String(repeating: "c", count: 64), key: String(repeating: "d", count: 64)),
    ]

    func testEveryFormatRoundTripsAwkwardText() throws {
        for format in [ManifestFormat.csv, .json, .jsonl] {
            let data = ExportManifest.encode(entries, as: format)
            XCTAssertEqual(try ExportManifest.decode(data, as: format), entries, "\(format)")
        }
    }

    func testCSVWritesNumbersAndEdgeSpacesAsStringsWould() throws {
        let numbers = [0, 7, 10, 22_050, Int.max, -1, Int.min]
        let rows = numbers.map { n in
            ManifestEntry(file: " lead.wav", text: "trail ", voice: "v", language: "", engine: "e", model: "m",
                          durationMs: n, sampleRate: n, bytes: n, sha256: "s", key: "k")
        }
        let text = String(decoding: ExportManifest.encode(rows, as: .csv), as: UTF8.self)
        let lines = text.components(separatedBy: "\r\n").dropFirst().filter { !$0.isEmpty }
        XCTAssertEqual(lines, numbers.map { "\" lead.wav\",\"trail \",v,,e,m,\($0),\($0),\($0),s,k,pcm16," })
        XCTAssertEqual(try ExportManifest.decode(Data(text.utf8), as: .csv), rows)
    }

    func testCSVFollowsRFC4180() {
        let text = String(decoding: ExportManifest.encode(entries, as: .csv), as: UTF8.self)
        XCTAssertTrue(text.hasPrefix("file,text,voice,language,engine,model,duration_ms,sample_rate,bytes,sha256,key,encoding,bitrate\r\n"))
        XCTAssertTrue(text.contains("a/b.wav,\"Hello, \"\"world\"\"\r\nsecond line\",en-us,,espeak"), text)
        XCTAssertTrue(text.hasSuffix("\r\n"))
        XCTAssertEqual(ExportManifest.csvField("plain"), "plain")
        XCTAssertEqual(ExportManifest.csvField("a,b"), "\"a,b\"")
    }

    func testDamagedManifestIsAStoreErrorThatSaysWhatToDo() {
        XCTAssertThrowsError(try ExportManifest.decode(Data("file,text\r\nx,y\r\n".utf8), as: .csv)) { error in
            XCTAssertEqual((error as? TTSError)?.kind, .store)
            XCTAssertTrue((error as? TTSError)?.message.contains("--prune") == true)
        }
        XCTAssertThrowsError(try ExportManifest.decode(Data("{".utf8), as: .json))
        XCTAssertThrowsError(try ExportManifest.decode(Data("\"open".utf8), as: .csv))
    }
}
