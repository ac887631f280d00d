import TTSCore

/// The command line of one tts-repl process: global flags, then an optional one-shot command.
struct Invocation {
    /// Setting name → value given by a flag.
    var settingFlags: [String: String] = [:]
    var json = false
    var bail = false
    var showHelp = false
    var showVersion = false
    /// A one-shot command and its words (`tts-repl say Hello`); empty for a session or script.
    var commandWords: [String] = []

    static let usage = """
        usage: tts-repl [--store DIR] [--engine NAME] [--voice NAME] [--lang CODE] [--redis URL|off]
                        [--json] [--bail] [COMMAND [ARGS…]]

        Text-to-speech with a content-addressed cache: a request is synthesized once, then served
        from the local store (or the shared Redis tier).

        With a COMMAND, runs it and exits (`tts-repl say "Hello"`). Without one, opens an
        interactive prompt on a terminal, or runs the commands piped on stdin, one per line.

          --store DIR      store folder (TTS_STORE)
          --engine NAME    espeak or gemini (TTS_ENGINE)
          --voice NAME     voice (TTS_VOICE)
          --lang CODE      BCP-47 language (TTS_LANGUAGE)
          --redis URL|off  shared tier (REDIS_URL)
          --json           one JSON object per line for every result and error
          --bail           in a script, stop at the first failing command
          --version        print the version

        Exit status: 0 every command succeeded, 1 a command failed, 2 usage or configuration error.
        Type `help` inside tts-repl for its commands.
        """

    static func parse(_ arguments: [String]) throws -> Invocation {
        var invocation = Invocation()
        let valued: [String: Setting] = [
            "--store": .store, "--engine": .engine, "--voice": .voice, "--lang": .language, "--redis": .redisURL,
        ]
        var i = 0
        while i < arguments.count {
            let word = arguments[i]
            if !invocation.commandWords.isEmpty || !word.hasPrefix("-") || word == "-" {
                invocation.commandWords.append(word)
                i += 1
                continue
            }
            var name = word
            var inline: String?
            if let eq = word.firstIndex(of: "=") {
                name = String(word[..<eq])
                inline = String(word[word.index(after: eq)...])
            }
            if let setting = valued[name] {
                guard let value = inline ?? (i + 1 < arguments.count ? arguments[i + 1] : nil) else {
                    throw TTSError.config("\(name) needs a value")
                }
                if inline == nil { i += 1 }
                invocation.settingFlags[setting.name] = value
            } else {
                switch name {
                case "--json": invocation.json = true
                case "--bail": invocation.bail = true
                case "-h", "--help": invocation.showHelp = true
                case "--version": invocation.showVersion = true
                case "--": invocation.commandWords = Array(arguments[(i + 1)...]); return invocation
                default: throw TTSError.config("unknown option \(word); see `tts-repl --help`")
                }
            }
            i += 1
        }
        return invocation
    }
}
