"""Suggestion statistics: the recorder that counts them, and the dialog that shows them."""
