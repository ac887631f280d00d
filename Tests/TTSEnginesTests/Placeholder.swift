// tests for TTSEngines
