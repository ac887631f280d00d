// tests for EndToEnd
