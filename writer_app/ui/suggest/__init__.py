"""Suggestions: when to ask the engine, which answers still fit, and the engine process's health."""
