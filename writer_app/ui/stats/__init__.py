"""Statistics: the suggestions' recorder and dialog, and the words written today (today.py)."""
