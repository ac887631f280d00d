import Foundation
import TTSCore

/// How a pre-warm run is carried out.
public struct PrewarmOptions: Sendable {
    /// Engine calls in flight at once (a sliding window: a new call starts when one ends).
    public var concurrency: Int
    /// Count and estimate only; no engine call, no file written.
    public var dryRun: Bool
    /// Any problem in the list (unreadable line, invalid request) stops the run before the
    /// first engine call.
    public var strict: Bool
    /// Where failed lines are written in the list's own format; nil writes none.
    public var rejectsURL: URL?
    /// The least time between two progress reports.
    public var progressInterval: Duration
    /// A pacing budget (Gemini's TTS_RPM), used by the dry-run estimate; nil means unpaced.
    public var requestsPerMinute: Int?

    public init(concurrency: Int = 4, dryRun: Bool = false, strict: Bool = false, rejectsURL: URL? = nil,
                progressInterval: Duration = .milliseconds(200), requestsPerMinute: Int? = nil) {
        self.concurrency = max(1, concurrency)
        self.dryRun = dryRun
        self.strict = strict
        self.rejectsURL = rejectsURL
        self.progressInterval = progressInterval
        self.requestsPerMinute = requestsPerMinute
    }
}

/// A snapshot of a running pre-warm, counted in unique requests.
public struct PrewarmProgress: Sendable, Equatable {
    public var done: Int
    public var total: Int
    public var cached: Int
    public var generated: Int
    public var failed: Int
    /// Seconds since the run started.
    public var elapsed: Double
    /// Requests finished per second by the engine phase (cache hits found up front excluded,
    /// so the ETA reflects the work that is left).
    public var rate: Double
    /// Seconds until done at the current rate; nil until there is a rate.
    public var eta: Double?
}

/// A line that did not make it into the cache, and why.
public struct PrewarmReject: Sendable, Equatable {
    public enum Cause: String, Sendable {
        /// The line could not be read (bad UTF-8, bad quoting, unknown key or directive…).
        case unreadable
        /// The line was read but is not a valid request (unknown voice, text too long…).
        case invalid
        /// The engine call failed.
        case engine
    }

    public var line: Int
    public var reason: String
    public var cause: Cause
    /// The phrase, for invalid and engine rejects; written back in the list's format.
    public var entry: PhraseEntry?
    /// The unreadable record, written back as it was.
    public var problem: PhraseProblem?
}

/// What a dry run expects a real run to cost.
public struct PrewarmEstimate: Sendable, Equatable {
    /// Speech runs at about 14 characters a second (≈ 150 words a minute); audio length is
    /// estimated from text length with it.
    public static let charactersPerSecond = 14.0

    public var engineCalls: Int
    public var audioSeconds: Double
    /// Wall time for the engine calls at the configured concurrency (and pacing budget).
    public var seconds: Double
    /// The per-call time the estimate assumed, in seconds, averaged over the calls.
    public var secondsPerCall: Double

    /// - Parameters:
    ///   - calls: the engine and text length of each call to be made.
    ///   - concurrency: calls in flight at once; espeak runs one at a time whatever this is.
    ///   - requestsPerMinute: a pacing budget; the estimate is never faster than it allows.
    public static func make(calls: [(engine: String, characters: Int)], concurrency: Int,
                            requestsPerMinute: Int? = nil) -> PrewarmEstimate {
        var audio = 0.0
        var serial = 0.0
        var parallel = 0.0
        for call in calls {
            let seconds = Double(call.characters) / charactersPerSecond
            audio += seconds
            let cost = assumedSeconds(engine: call.engine, audioSeconds: seconds)
            if call.engine == "espeak" { serial += cost } else { parallel += cost }
        }
        var wall = serial + parallel / Double(max(1, concurrency))
        if let rpm = requestsPerMinute, rpm > 0 {
            wall = max(wall, Double(calls.count) / Double(rpm) * 60)
        }
        let perCall = calls.isEmpty ? 0 : (serial + parallel) / Double(calls.count)
        return PrewarmEstimate(engineCalls: calls.count, audioSeconds: audio, seconds: wall, secondsPerCall: perCall)
    }

    /// Rough costs of one call: espeak in process is milliseconds (measured ~2 ms for a
    /// sentence) and runs one call at a time; a network engine is assumed to take about a
    /// second plus a quarter of the audio's length.
    static func assumedSeconds(engine: String, audioSeconds: Double) -> Double {
        engine == "espeak" ? 0.002 + 0.0005 * audioSeconds : 1.0 + 0.25 * audioSeconds
    }
}

/// The outcome of a pre-warm run.
public struct PrewarmSummary: Sendable {
    /// What happened to the rejects file.
    public enum Rejects: Sendable, Equatable {
        /// Nothing failed; no file was written (an older one is left as it was).
        case none
        case written(URL, lines: Int)
        /// Lines failed but no file was written, and why (dry run, cancelled, stdin, --strict).
        case notWritten(String)
    }

    public var source: String
    /// Physical lines in the input.
    public var lines = 0
    /// Phrases read (lines that were not comments, directives, blanks or unreadable).
    public var phrases = 0
    /// Unreadable lines plus invalid requests.
    public var problems = 0
    /// Distinct requests (by request key) among the valid phrases.
    public var unique = 0
    /// Valid phrases that asked for a request an earlier line already asked for.
    public var duplicates = 0
    /// Unique requests already in the local store (no engine call).
    public var cached = 0
    /// Unique requests the engine produced in this run.
    public var generated = 0
    /// Unique requests whose engine call failed.
    public var failed = 0
    /// Unique requests not attempted because the run was cancelled or stopped by `--strict`
    /// (a dry run counts its would-be calls in `estimate`).
    public var remaining = 0
    /// Seconds of audio generated in this run.
    public var audioSeconds = 0.0
    public var elapsed = 0.0
    /// Unique requests finished per second over the whole run.
    public var rate = 0.0
    public var cancelled = false
    /// `--strict` found problems and made no engine call.
    public var aborted = false
    public var dryRun = false
    /// Set by a dry run.
    public var estimate: PrewarmEstimate?
    /// Every rejected line, by line number.
    public var rejects: [PrewarmReject] = []
    public var rejectsFile: Rejects = .none

    public init(source: String) { self.source = source }

    /// Whether every line is in the cache: no problem, no failure, not cut short.
    public var succeeded: Bool { problems == 0 && failed == 0 && !cancelled && !aborted }
}
