// tests for TTSService
