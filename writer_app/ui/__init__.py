"""The PySide6 desktop app. The only package that imports Qt.

Rooms: editor/ (the editing surface and its files), suggest/ (the engine and
the ghost), training/ (Train on My Writing), stats/ (suggestion statistics),
dialogs/ (Settings, About the Model). main_window.py wires them together.
"""
