print("fake-gemini: not built yet")
