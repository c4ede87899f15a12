"""Session snapshots that outlive their Streamlit session: a reload (F5), or the tab closed and the app opened
again in the same browser within ``ttl_seconds``, brings back the runs, the drawing and the settings.

How: the browser keeps a random token of its own (``ui.browser_id``: 32 lowercase hex characters in its
localStorage, never in the URL) and sends it to the server; the server maps the token to the session's latest
snapshot here. A shared link carries no token, and another browser has another token, so neither ever sees
these snapshots. Guessing a token means guessing 128 random bits.

What is stored is opaque: whatever ``ui.state`` makes. A live session's snapshot shares its objects (runs,
arrays) with the live session, no copy, so an entry costs memory only once its session is gone; the budget below
still counts every entry, which makes it an upper bound on what the store can keep alive. One snapshot object put
under several tokens (``ui.persist`` keeps a session under its browser's token and its tab's) is counted once.

Bounded memory, in this order on every ``put``:

1. expired entries (``ttl_seconds`` after their last ``put``) are dropped (``get`` never extends a life: only
   the live session, putting its newest state, does);
2. then the least recently put entries, until there are at most ``max_entries`` and their sizes (``size_of`` of
   each snapshot, measured when it is put) sum to at most ``max_bytes``;
3. a snapshot bigger than ``max_bytes`` on its own is not stored (and the token's older snapshot is dropped, so
   a reload never brings back a state older than one the store refused).

Defaults, for a class of 30 on a server with 1 GB (Community Cloud gives 0.7-2.7 GB):

- ``ttl_seconds`` = 30 min: the promise (a reload, or the app reopened within half an hour); a lecture's break
  is shorter, and a snapshot older than that is more likely stale than wanted.
- ``max_entries`` = 100: 30 students with a browser or two each (a laptop and a phone), plus sessions from
  reloads of the same browser replacing each other (one token per browser, not per tab), leaves room for the
  lecturer's machines and for visitors before and after the class. It also bounds what a script that invents
  tokens can do: it can evict other entries (never read them), and never grow the store past this.
- ``max_bytes`` = 256 MB: a session keeps at most 8 runs (``ui.state.MAX_JOBS``); the book's full-MNIST run is
  ~1.4 MB with its W1 snapshots (float16), ~0.3 MB without, so a full session is ~11 MB and a typical one (2-4
  runs) 3-6 MB. 256 MB holds every session of the class at a typical size, and ~23 sessions at the maximum.
  With the server's ~250 MB (MNIST and the interpreter) and 30 live sessions at their maximum (~340 MB, which
  they cost anyway), the worst case stays under ~850 MB of the 1 GB.

Pure Python and thread-safe (Streamlit runs sessions on several threads): one lock guards the table; ``size_of``
is called outside it. ``store()`` gives the process's one store (``st.cache_resource``; Streamlit is imported
only there, so this module imports and tests without it).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

#: The token ``ui.browser_id`` makes: 16 random bytes as 32 lowercase hex characters.
TOKEN_LENGTH = 32
_HEX = frozenset("0123456789abcdef")

DEFAULT_MAX_ENTRIES = 100
DEFAULT_TTL_SECONDS = 30 * 60
DEFAULT_MAX_BYTES = 256 * 1024 * 1024


def valid_token(text: object) -> bool:
    """True only for what the browser component makes: exactly 32 lowercase hex characters (a ``str``).

    Everything else is False: None, numbers, bytes, dicts, lists, upper case, other lengths, whitespace,
    non-ASCII look-alikes (e.g. fullwidth digits, which ``str.isalnum`` and ``int(x, 16)`` would accept).
    """
    return type(text) is str and len(text) == TOKEN_LENGTH and _HEX.issuperset(text)


def _zero(_snapshot: Any) -> int:
    return 0


class SessionStore:
    """Token → latest snapshot, with expiry, an entry limit and a byte budget (see the module's docstring)."""

    def __init__(
        self,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        max_bytes: int = DEFAULT_MAX_BYTES,
        size_of: Callable[[Any], int] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries must be at least 1, not {max_entries!r}")
        if not ttl_seconds > 0:
            raise ValueError(f"ttl_seconds must be positive, not {ttl_seconds!r}")
        if max_bytes < 0:
            raise ValueError(f"max_bytes must not be negative, not {max_bytes!r}")
        self.max_entries = int(max_entries)
        self.ttl_seconds = float(ttl_seconds)
        self.max_bytes = int(max_bytes)
        self._size_of = size_of or _zero
        self._clock = clock
        self._lock = threading.Lock()
        # token -> (expires at, size in bytes, snapshot), oldest put first. Every entry lives ttl_seconds after
        # its put, so the order of puts is also the order of expiry: expired entries are always at the front.
        self._entries: OrderedDict[str, tuple[float, int, Any]] = OrderedDict()
        # id(snapshot) -> [how many entries hold it, its size]: the budget counts each snapshot object once (the
        # entries keep the object alive, so its id is not reused while it is here)
        self._objects: dict[int, list[int]] = {}
        self._bytes = 0

    # --- the table ------------------------------------------------------------------------------------------
    def put(self, token: str, snapshot: Any) -> bool:
        """Keep ``snapshot`` as the newest state of ``token`` for ``ttl_seconds`` from now; True if stored.

        False (and nothing of ``token`` kept) when the snapshot alone is bigger than ``max_bytes``. Raises
        ValueError for a token ``valid_token`` refuses, so no key a browser could not have made gets in.
        """
        if not valid_token(token):
            raise ValueError("not a browser token")
        size = max(0, int(self._size_of(snapshot)))  # outside the lock: it may walk many arrays
        with self._lock:
            now = self._clock()
            self._remove(token)
            if size > self.max_bytes:
                self._evict(now)
                return False
            self._entries[token] = (now + self.ttl_seconds, size, snapshot)
            self._count(snapshot, size)
            self._evict(now)
            return True

    def get(self, token: object) -> Any | None:
        """The snapshot last put for ``token``, or None when unknown, expired or not a token. Does not extend
        its life."""
        if not valid_token(token):
            return None
        with self._lock:
            entry = self._entries.get(token)  # type: ignore[arg-type]
            if entry is None:
                return None
            if entry[0] <= self._clock():
                self._remove(token)  # type: ignore[arg-type]
                return None
            return entry[2]

    def drop(self, token: object) -> None:
        """Forget ``token``'s snapshot (nothing happens if there is none)."""
        if valid_token(token):
            with self._lock:
                self._remove(token)  # type: ignore[arg-type]

    def purge_expired(self) -> int:
        """Drop the expired entries now; how many were dropped."""
        with self._lock:
            before = len(self._entries)
            self._drop_expired(self._clock())
            return before - len(self._entries)

    def __len__(self) -> int:
        """How many unexpired entries there are."""
        with self._lock:
            self._drop_expired(self._clock())
            return len(self._entries)

    def total_bytes(self) -> int:
        """The sum of the sizes of the unexpired entries' snapshots, each object once (as ``size_of`` measured it
        when it was last put)."""
        with self._lock:
            self._drop_expired(self._clock())
            return self._bytes

    def __repr__(self) -> str:
        return (f"SessionStore({len(self)} entries, {self.total_bytes():,} bytes; max_entries={self.max_entries}, "
                f"ttl_seconds={self.ttl_seconds:g}, max_bytes={self.max_bytes:,})")

    # --- helpers; the caller holds the lock -----------------------------------------------------------------
    def _count(self, snapshot: Any, size: int) -> None:
        """One more entry holds ``snapshot``, measured now at ``size`` (its newest measurement counts)."""
        held = self._objects.get(id(snapshot))
        if held is None:
            self._objects[id(snapshot)] = [1, size]
            self._bytes += size
        else:
            held[0] += 1
            self._bytes += size - held[1]
            held[1] = size

    def _uncount(self, snapshot: Any) -> None:
        held = self._objects[id(snapshot)]
        held[0] -= 1
        if held[0] == 0:
            del self._objects[id(snapshot)]
            self._bytes -= held[1]

    def _remove(self, token: str) -> None:
        entry = self._entries.pop(token, None)
        if entry is not None:
            self._uncount(entry[2])

    def _drop_expired(self, now: float) -> None:
        while self._entries:
            token, (expires, _, snapshot) = next(iter(self._entries.items()))
            if expires > now:
                break
            del self._entries[token]
            self._uncount(snapshot)

    def _evict(self, now: float) -> None:
        self._drop_expired(now)
        while self._entries and (len(self._entries) > self.max_entries or self._bytes > self.max_bytes):
            _, (_, _, snapshot) = self._entries.popitem(last=False)
            self._uncount(snapshot)


_factory_lock = threading.Lock()
_cached_factory: Callable[..., SessionStore] | None = None


def store(size_of: Callable[[Any], int] | None = None) -> SessionStore:
    """The server process's one ``SessionStore`` (with the defaults above), shared by all sessions.

    Kept with ``st.cache_resource``, so it survives script reruns and module reloads; "Clear cache" empties it.
    ``size_of`` is used when the store is made, i.e. by the first call in the process: pass the same function
    from one place (later calls' ``size_of`` is ignored).
    """
    global _cached_factory
    with _factory_lock:
        if _cached_factory is None:
            import streamlit as st

            @st.cache_resource(show_spinner=False)
            def _process_store(_size_of: Callable[[Any], int] | None) -> SessionStore:  # "_": not hashed
                return SessionStore(size_of=_size_of)

            _cached_factory = _process_store
        factory = _cached_factory
    return factory(size_of)
