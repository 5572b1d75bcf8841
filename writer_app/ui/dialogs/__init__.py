"""The window's dialogs: Settings, About the Model and the keyboard shortcuts."""
