"""A tiny name → object registry (timm ``create_model`` / SAM builder style).

>>> r = Registry("colour")
>>> @r.register("red")
... def red():
...     return (255, 0, 0)
>>> r.get("red")()
(255, 0, 0)
>>> r.get("blue")
Traceback (most recent call last):
...
gazezoom.errors.UnknownNameError: unknown colour 'blue'; choose one of: red
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Generic, TypeVar

from .errors import InputValueError, UnknownNameError

T = TypeVar("T")

__all__ = ["Registry"]


class Registry(Generic[T]):
    """Maps names to objects; unknown names raise :class:`UnknownNameError` listing the valid ones."""

    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str, obj: T | None = None):
        """Register ``obj`` under ``name``; without ``obj`` returns a decorator."""

        def _add(o: T) -> T:
            if name in self._items:
                raise InputValueError(f"{self.kind} {name!r} is registered twice")
            self._items[name] = o
            return o

        return _add(obj) if obj is not None else _add

    def get(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            raise UnknownNameError(self.kind, name, self._items) from None

    def names(self) -> list[str]:
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())
