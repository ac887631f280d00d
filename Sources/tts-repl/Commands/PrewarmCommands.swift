/// Prewarm commands (see the issue that builds them); empty until then.
let prewarmCommands: [Command] = []
