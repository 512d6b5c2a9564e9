# SPDX-License-Identifier: MIT
"""Signal: the small part of PySide's signals QDtls needs.

Declared on a class (``pskRequired = Signal(QSslPreSharedKeyAuthenticator)``),
read on an instance it gives that instance's own list of slots, with
PySide's connect(), disconnect() and emit(). Slots run synchronously, in
the order they were connected, on the thread that emits; there are no
queued connections and no event loop involved.
"""

from typing import Any, Callable, List, Optional


class BoundSignal:
    """One object's signal: its connected slots."""

    __slots__ = ("_name", "_slots")

    def __init__(self, name: str) -> None:
        self._name = name
        self._slots: List[Callable[..., Any]] = []

    def connect(self, slot: Callable[..., Any]) -> bool:
        """Adds `slot` (any callable). Connecting it twice calls it twice,
        as in Qt."""
        if not callable(slot):
            raise TypeError("%s.connect() takes a callable, not %s"
                            % (self._name, type(slot).__name__))
        self._slots.append(slot)
        return True

    def disconnect(self, slot: Optional[Callable[..., Any]] = None) -> bool:
        """Removes one connection of `slot` (the latest), or every slot when
        called without one. False when there was nothing to remove."""
        if slot is None:
            had = bool(self._slots)
            self._slots.clear()
            return had
        for i in range(len(self._slots) - 1, -1, -1):
            if self._slots[i] == slot:  # == so that bound methods match
                del self._slots[i]
                return True
        return False

    def emit(self, *args: Any) -> None:
        """Calls every slot with args. A slot's exception propagates to the
        caller of emit() and the remaining slots are not called."""
        for slot in list(self._slots):  # a slot may (dis)connect others
            slot(*args)

    def receivers(self) -> int:
        """How many connections there are."""
        return len(self._slots)

    def __repr__(self) -> str:
        return "<signal %s, %d slot(s)>" % (self._name, len(self._slots))


class Signal:
    """A signal declaration on a class; reading it on an instance gives
    that instance's BoundSignal (created on first use)."""

    def __init__(self, *types: Any) -> None:
        self.types = types
        self.name = "signal"

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        if obj is None:
            return self
        key = "_signal_" + self.name
        bound = obj.__dict__.get(key)
        if bound is None:
            bound = obj.__dict__[key] = BoundSignal(self.name)
        return bound

    def __repr__(self) -> str:
        return "Signal(%s)" % ", ".join(getattr(t, "__name__", repr(t)) for t in self.types)
