// TTSService: see DESIGN.md
