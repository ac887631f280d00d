/// What Tab may put in place of the word being typed, from the command's declaration.
enum CompletionSlot: Sendable, Equatable {
    case nothing
    /// `--name` of the options not given yet.
    case optionNames([String])
    /// An option's value or an argument; `prefix` (`--encoding=`) stays in front of each candidate.
    case value(ValueCompletion, prefix: String)
}

extension Command {
    /// The slot of `current`, the word being typed, after `previous` (the words between the
    /// command word and it).
    func completionSlot(previous: [String], current: String) -> CompletionSlot {
        var given: Set<String> = []
        var pendingValue: CommandOption?
        var positionalCount = 0
        var optionsEnded = false
        for word in previous {
            if pendingValue != nil {
                pendingValue = nil
                continue
            }
            if !optionsEnded && word == "--" {
                optionsEnded = true
            } else if !optionsEnded, let (option, inline) = (try? option(in: word)) ?? nil {
                given.insert(option.name)
                if !option.isFlag && inline == nil { pendingValue = option }
            } else if input == .text && !options.isEmpty && positionalCount == 0 && !optionsEnded && word.hasPrefix("--") {
                return .nothing  // an unknown option: no guess
            } else {
                positionalCount += 1
            }
        }
        // A text command's text has begun: it is free text from there on.
        if input == .text && (positionalCount > 0 || optionsEnded) { return .nothing }
        if let option = pendingValue { return .value(option.valueCompletion, prefix: "") }
        let unused = options.filter { !given.contains($0.name) }.map { "--" + $0.name }
        if !optionsEnded && current.hasPrefix("-") {
            guard let eq = current.firstIndex(of: "="), current.hasPrefix("--") else { return .optionNames(unused) }
            let name = String(current[current.index(current.startIndex, offsetBy: 2)..<eq])
            guard let option = options.first(where: { $0.name == name }), !option.isFlag else { return .nothing }
            return .value(option.valueCompletion, prefix: String(current[...eq]))
        }
        let slot = positionalCount < arguments.count ? arguments[positionalCount] : arguments.last.flatMap { $0.repeats ? $0 : nil }
        if let slot, slot.completion != .none { return .value(slot.completion, prefix: "") }
        return current.isEmpty && !unused.isEmpty && !optionsEnded ? .optionNames(unused) : .nothing
    }
}
