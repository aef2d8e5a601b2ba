"""A small name -> entry registry that refuses duplicates and lists valid names on a miss."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Generic, TypeVar

from bench.errors import BenchError, InvalidValueError
from bench.suggest import unknown

T = TypeVar("T")


class UnknownNameError(BenchError, KeyError):
    """Raised for a name that is not registered; the message lists the valid names."""


class Registry(Generic[T]):
    """Entries registered once under a unique name, looked up with a helpful error."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}

    def register(self, name: str, entry: T) -> T:
        """Add `entry` under `name`; a name already taken is an error, never overwritten."""
        if name in self._entries:
            raise InvalidValueError(f"{self.kind} {name!r} is already registered")
        self._entries[name] = entry
        return entry

    def get(self, name: str) -> T:
        """The entry named `name`, or an error that lists every valid name."""
        try:
            return self._entries[name]
        except KeyError:
            raise UnknownNameError(unknown(self.kind, name, self._entries)) from None

    def names(self) -> list[str]:
        """Registered names, sorted."""
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._entries)
