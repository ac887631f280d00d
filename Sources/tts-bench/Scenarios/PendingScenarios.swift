/// Scenarios whose subject is not in this build yet. Each reports "not built" with its target
/// until the piece it measures is merged; then it gets a file of its own here.

/// Prewarm of a phrase list against fake-gemini (200 ms latency, concurrency 8): at least 90 %
/// of the 40 requests/s that latency and concurrency allow.
struct PrewarmGeminiScenario: Scenario {
    let name = "prewarm-gemini"
    func run(_ context: BenchContext) async throws -> [Row] {
        [.notBuilt("prewarm misses, fake-gemini 200 ms, concurrency 8", target: "≥ 36 req/s (90 % of 40)",
                   needs: "the Gemini engine, prewarm and fake-gemini")]
    }
}

/// Offline prewarm with espeak-ng against the espeak-ng CLI run with the same parallelism.
struct PrewarmEspeakScenario: Scenario {
    let name = "prewarm-espeak"
    func run(_ context: BenchContext) async throws -> [Row] {
        [.notBuilt("offline prewarm, espeak-ng", target: "≥ 0.8× (espeak-ng CLI, same parallelism)", needs: "prewarm")]
    }
}

/// Export of 10,000 clips: hard links against `cp -al`, copies against `cp -r`.
struct ExportScenario: Scenario {
    let name = "export"
    func run(_ context: BenchContext) async throws -> [Row] {
        [
            .notBuilt("export 10,000 clips, link mode", target: "≤ 2× (cp -al)", needs: "export"),
            .notBuilt("export 10,000 clips, copy mode", target: "≤ 1.5× (cp -r)", needs: "export"),
        ]
    }
}
