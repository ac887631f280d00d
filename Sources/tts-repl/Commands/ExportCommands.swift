/// Export commands (see the issue that builds them); empty until then.
let exportCommands: [Command] = []
