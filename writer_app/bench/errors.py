"""writer-bench's one error: what it was asked to measure cannot be measured."""


class BenchError(Exception):
    """A text, option or extra that writer-bench cannot work with, worded for people;
    the CLI prints it after "writer-bench: " and exits with status 1."""
