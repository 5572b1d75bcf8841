"""writer_app: a local, private writing assistant with ghost-text continuations."""

__version__ = "0.1.0"
