// tests for TTSStore
