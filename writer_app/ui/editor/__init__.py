"""The editing surface: the ghost-text editor, its word count, and its files (open, save, recovery)."""
