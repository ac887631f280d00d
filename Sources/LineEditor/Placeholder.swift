// LineEditor: see DESIGN.md
