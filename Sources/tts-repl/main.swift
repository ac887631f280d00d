print("tts-repl: not built yet")
