// tests for LineEditor
