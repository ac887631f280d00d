// TTSStore: see DESIGN.md
