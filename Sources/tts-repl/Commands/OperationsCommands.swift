/// Operations commands (see the issue that builds them); empty until then.
let operationsCommands: [Command] = []
