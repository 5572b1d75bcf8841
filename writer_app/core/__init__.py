"""Plain-Python document handling for the app: reading, atomic saving, crash recovery.

Nothing here imports Qt, so it is tested without a display.
"""
