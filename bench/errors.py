"""The errors a user can cause: one base class, so the CLI prints them as one clear line."""

from __future__ import annotations


class BenchError(Exception):
    """An error in the user's input or setup (not a bug): its message says what to do.

    Each concrete error also subclasses the standard exception it stands for (KeyError,
    ValueError, RuntimeError ...), so code that catches those keeps working."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else self.__class__.__name__


class InvalidValueError(BenchError, ValueError):
    """A value the user gave (an option, a name, a file's content) that cannot be used."""


class MissingFileError(BenchError, FileNotFoundError):
    """A file the user pointed at, or that a step needs, does not exist."""
