"""The disk cache of API responses: it stores answers; the sources say which are final.

Keys are ``sha256(endpoint, normalized params, credential fingerprint)``: never the key itself, so
neither the cache key nor anything on disk holds a secret (requests-cache ``cache_keys.py``).
An answer stored as final (the source decides: ``spend.dates.is_final`` for days that ended more
than 48 h ago) is kept forever; any other expires after ``NON_FINAL_TTL`` seconds and is fetched
again.

The files are private: every folder is created 0700 and every file 0600 (they hold usage and
e-mails). A cache folder that cannot be written but holds answers is read as it is (display and
export work; nothing is fetched into it). A cache folder deleted while the process runs is noticed
at the next read or write: the store is opened afresh and ``lost`` counts it, so nothing claims
that answers are stored when they are gone. ``claim`` is the lock that lets one process at a time
fetch a given request, so a second fetcher waits for the first's answer instead of asking twice.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import diskcache

from spend.errors import CacheError, FetchStopped

try:  # POSIX; elsewhere the cross-process lock is a no-op (the in-process registry still holds)
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

#: How long a response about a not-yet-final day is reused before it is fetched again.
NON_FINAL_TTL = 10 * 60


def query_items(
    params: Mapping[str, Any] | Iterable[tuple[str, Any]] | None,
) -> list[tuple[str, str]]:
    """Query params into (name, text) pairs as sent, e.g. ``{"group_by[]": ["model", "batch"],
    "limit": 31}`` -> ``[("group_by[]", "model"), ("group_by[]", "batch"), ("limit", "31")]``.

    Arrays repeat their name (bracket spellings kept), booleans are ``true``/``false``, ``None``
    values are dropped.
    """
    if params is None:
        return []
    items = params.items() if isinstance(params, Mapping) else params
    out: list[tuple[str, str]] = []
    for name, value in items:
        values = value if isinstance(value, (list, tuple, set)) else [value]
        out.extend((name, _scalar(v)) for v in values if v is not None)
    return out


def normalize_params(
    params: Mapping[str, Any] | Iterable[tuple[str, Any]] | None,
) -> list[tuple[str, str]]:
    """Query params into a canonical sorted list, e.g. ``{"group_by[]": ["model", "batch"]}`` ->
    ``[("group_by", "batch"), ("group_by", "model")]``.

    Bracket and plain spellings of array params are the same param; ``None`` values are dropped;
    the order of repeated values does not matter.
    """
    return sorted((name.removesuffix("[]"), value) for name, value in query_items(params))


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def cache_key(endpoint: str, params: Any, fingerprint: str) -> str:
    """Endpoint + params + credential fingerprint into a hex key, e.g. ``cache_key("/usage",
    {"date": "2024-01-01"}, "ab12")``."""
    material = json.dumps(
        {
            "endpoint": "/" + endpoint.strip("/"),
            "params": normalize_params(params),
            "who": fingerprint,
        },
        sort_keys=True,
    )
    return hashlib.sha256(material.encode()).hexdigest()


#: A non-final answer is kept this long after it went stale, as a fallback for showing data
#: (a long fetch outlives NON_FINAL_TTL); planning still treats it as missing.
STALE_KEEP = 7 * 24 * 3600

#: Permissions of every folder and file the cache creates: this user only.
PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
#: SQLite's file name inside a diskcache folder.
DB_NAME = "cache.db"
#: Cross-process request locks are this many files (a request's key picks one): a collision only
#: makes two different requests take turns.
LOCK_SLOTS = 256
#: How often a fetcher waiting for another process's answer looks again (real seconds: the other
#: process works in real time).
LOCK_POLL_SECONDS = 0.05


def private_dir(path: str | Path) -> Path:
    """A folder into itself, created (with its parents) and made 0700 when it is ours, e.g.
    ``.cache/spend`` -> drwx------; a folder we may not change is left as it is."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    with contextlib.suppress(OSError):
        if path.stat().st_mode & 0o777 != PRIVATE_DIR:
            os.chmod(path, PRIVATE_DIR)
    return path


def write_private(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically as a 0600 file in a 0700 folder (a temporary file
    beside it, then a rename), e.g. a small state file. Raises OSError when it cannot."""
    path = Path(path)
    folder = private_dir(path.parent)
    temporary = folder / f".{path.name}.tmp"
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        os.fchmod(handle.fileno(), PRIVATE_FILE)
        handle.write(text)
    os.replace(temporary, path)


@contextlib.contextmanager
def file_lock(path: str | Path) -> Iterator[None]:
    """Hold an exclusive lock on the 0600 file ``path`` (in a 0700 folder) while inside; other
    processes wait for it. Without ``fcntl`` only the folder and file are made. Raises OSError
    when the file cannot be created."""
    path = Path(path)
    private_dir(path.parent)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE)
    try:
        if fcntl is not None:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(descriptor, fcntl.LOCK_UN)
    finally:
        os.close(descriptor)


def _tighten(folder: Path) -> None:
    """Make every file under ``folder`` 0600 and every folder 0700 (older versions wrote 0644)."""
    for root, dirs, files in os.walk(folder):
        for name in dirs:
            with contextlib.suppress(OSError):
                os.chmod(os.path.join(root, name), PRIVATE_DIR)
        for name in files:
            with contextlib.suppress(OSError):
                os.chmod(os.path.join(root, name), PRIVATE_FILE)


class PrivateDisk(diskcache.Disk):
    """diskcache's Disk writing large values into 0700 folders as 0600 files."""

    def filename(self, key=diskcache.core.UNKNOWN, value=diskcache.core.UNKNOWN):
        filename, full_path = super().filename(key, value)
        parent = os.path.dirname(full_path)
        for folder in (os.path.dirname(parent), parent):
            with contextlib.suppress(OSError):
                os.mkdir(folder, PRIVATE_DIR)
        return filename, full_path

    def _write(self, full_path, iterator, mode, encoding=None):
        size = super()._write(full_path, iterator, mode, encoding)
        with contextlib.suppress(OSError):
            os.chmod(full_path, PRIVATE_FILE)
        return size


def file_identity(path: str | Path) -> tuple[int, int] | None:
    """A file into (device, inode), or None when it is gone: a store whose file changed identity
    was deleted (and maybe created again by someone else) since it was opened."""
    try:
        found = os.stat(path)
    except OSError:
        return None
    return found.st_dev, found.st_ino


def open_store(folder: str | Path, **settings: Any) -> diskcache.Cache:
    """A private diskcache at ``folder``: the folder 0700, SQLite's files and stored values 0600.

    Raises what diskcache raises (sqlite3.Error, OSError) when the folder cannot be written.
    """
    folder = private_dir(folder)
    db = folder / DB_NAME
    if not db.exists():
        os.close(os.open(db, os.O_CREAT | os.O_WRONLY, PRIVATE_FILE))  # SQLite's -wal/-shm copy it
    elif db.stat().st_mode & 0o777 != PRIVATE_FILE:
        _tighten(folder)
    return diskcache.Cache(str(folder), disk=PrivateDisk, **settings)


class ReadOnlyStore:
    """The reading part of ``diskcache.Cache`` over a store this process may not write.

    Opened ``mode=ro`` (a writer elsewhere keeps the WAL readable), else ``immutable=1`` (a folder
    nobody writes: SQLite then needs no lock file).
    """

    def __init__(self, folder: str | Path) -> None:
        self.directory = str(folder)
        self._disk = diskcache.Disk(self.directory)
        self._lock = threading.Lock()
        uri = "file:" + urllib.parse.quote(os.path.join(self.directory, DB_NAME))
        for mode in ("mode=ro", "immutable=1"):
            try:
                con = sqlite3.connect(f"{uri}?{mode}", uri=True, check_same_thread=False)
                con.execute("SELECT key FROM Cache LIMIT 1").fetchall()
            except sqlite3.Error as exc:
                failure = exc
                continue
            self._con = con
            return
        raise failure

    def get(self, key: str, default: Any = None) -> Any:
        with self._lock:
            row = self._con.execute(
                "SELECT expire_time, mode, filename, value FROM Cache WHERE key = ? AND raw = 1",
                (key,),
            ).fetchone()
        if row is None or (row[0] is not None and row[0] < time.time()):
            return default
        try:
            return self._disk.fetch(row[1], row[2], row[3], False)
        except OSError:
            return default

    def iterkeys(self) -> Iterator[Any]:
        with self._lock:
            rows = self._con.execute("SELECT key, raw FROM Cache").fetchall()
        return (self._disk.get(key, raw) for key, raw in rows)

    def close(self) -> None:
        self._con.close()


class ResponseCache:
    """JSON bodies on disk under secret-free keys, with the finality rule as expiry.

    Each entry is two records: the body, and a small ``meta:`` record (when stored, when stale) so
    that checking what is stored never loads the bodies. Nothing is evicted for size: a final
    answer is never fetched twice.
    """

    def __init__(self, directory: str | Path, *, clock: Callable[[], float] = time.time) -> None:
        self.directory = Path(directory)
        self.clock = clock
        self.read_only = False
        #: How many times the folder was found deleted (every answer it held was lost with it).
        self.lost = 0
        self._reopening = threading.Lock()
        self._cache: Any = None
        self._open()

    @property
    def _folder(self) -> Path:
        return self.directory / "responses"

    def _open(self) -> None:
        try:
            private_dir(self.directory)
            locks = self.directory / "locks"
            if locks.is_dir() and locks.stat().st_mode & 0o777 != PRIVATE_DIR:
                _tighten(locks)  # an older version's lock files
                private_dir(locks)
            self._cache = open_store(self._folder, eviction_policy="none")
            self.read_only = False
        except Exception as exc:  # sqlite3/OSError: an unwritable folder, a corrupt file
            try:
                self._cache = ReadOnlyStore(self._folder)
            except Exception:
                raise CacheError(
                    f"Cannot open the cache folder {self.directory} ({type(exc).__name__}: "
                    f"{exc}). Set SPEND_CACHE_DIR to a folder this user may write."
                ) from exc
            self.read_only = True
        self._identity = file_identity(self._folder / DB_NAME)

    def _check(self) -> None:
        """Open the store afresh when its folder was deleted since (its answers are lost)."""
        if self.read_only or file_identity(self._folder / DB_NAME) == self._identity:
            return
        with self._reopening:
            if file_identity(self._folder / DB_NAME) == self._identity:
                return
            self.lost += 1
            with contextlib.suppress(Exception):
                self._cache.close()
            self._open()

    def _meta(self, key: str) -> dict | None:
        self._check()
        return self._cache.get("meta:" + key)

    def meta(self, key: str) -> dict | None:
        """The small record kept beside an answer: ``stored_at``, ``expires_at`` and ``checked``
        (its shape was validated before it was stored); None when nothing is stored."""
        return self._meta(key)

    def fresh(self, key: str) -> bool:
        """Whether ``key`` holds an answer that is final or not yet stale (no body is read)."""
        meta = self._meta(key)
        return meta is not None and (
            meta["expires_at"] is None or self.clock() < meta["expires_at"]
        )

    def get(self, key: str, *, stale_ok: bool = False) -> Any | None:
        """The stored body for ``key``: None when absent, or when stale unless ``stale_ok``."""
        if not stale_ok and not self.fresh(key):
            return None
        self._check()
        return self._cache.get(key)

    def __contains__(self, key: str) -> bool:
        return self.fresh(key)

    def set(
        self,
        key: str,
        body: Any,
        *,
        final: bool,
        ttl: float = NON_FINAL_TTL,
        checked: bool = False,
    ) -> None:
        """Store ``body``; final bodies never expire, others go stale after ``ttl`` seconds (by the
        injected clock). ``checked``: its shape was validated (``spend.shapes``)."""
        now = self.clock()
        meta = {"stored_at": now, "expires_at": None if final else now + ttl, "checked": checked}
        keep = (
            None if final else ttl + STALE_KEEP
        )  # diskcache's own expiry (wall clock) drops old stale ones
        self._write_refused()
        self._check()
        try:
            with self._cache.transact():
                self._cache.set(key, body, expire=keep)
                self._cache.set("meta:" + key, meta, expire=keep)
                self._cache.incr("generation", default=0)
        except Exception as exc:
            raise CacheError(
                f"Cannot write to the cache folder {self.directory} ({type(exc).__name__}: {exc})."
                " Set SPEND_CACHE_DIR to a folder this user may write."
            ) from exc

    def _write_refused(self) -> None:
        if self.read_only:
            raise CacheError(
                f"The cache folder {self.directory} is read-only for this user: what it holds can "
                "be shown and exported, but nothing can be fetched into it. Set SPEND_CACHE_DIR "
                "to a folder this user may write to fetch."
            )

    def mark_checked(self, key: str) -> None:
        """Record that the final answer under ``key`` passed validation, so it is not checked
        again (best effort: a read-only store checks it again next time; an answer that is not
        final is fetched again soon anyway)."""
        if self.read_only:
            return
        with contextlib.suppress(Exception), self._cache.transact():
            meta = self._cache.get("meta:" + key)
            if meta is not None and meta.get("expires_at") is None:
                self._cache.set("meta:" + key, {**meta, "checked": True})

    def delete(self, key: str) -> None:
        """Forget one entry (a refresh of a day that is not final yet, or an answer that failed
        validation)."""
        self._write_refused()
        self._check()
        with self._cache.transact():
            self._cache.delete(key)
            self._cache.delete("meta:" + key)
            self._cache.incr("generation", default=0)

    @property
    def generation(self) -> int:
        """A counter bumped by every write or delete: what was assembled before a change is stale
        after it. A store opened afresh (its folder was deleted) counts on from a new epoch."""
        self._check()
        return (self.lost << 40) + int(self._cache.get("generation", default=0))

    @contextlib.contextmanager
    def claim(self, key: str, *, pause: Callable[[float], bool]) -> Iterator[bool]:
        """Hold the cross-process lock of the request stored under ``key`` while it is fetched.

        Yields whether another holder was waited for (then its answer may be stored by now). While
        waiting, ``pause(seconds)`` is called between looks; when it returns False (the fetch was
        stopped) the wait ends with FetchStopped. Without locks (read-only, no ``fcntl``) it only
        yields False.
        """
        if self.read_only or fcntl is None:
            yield False
            return
        folder = private_dir(self.directory / "locks")
        slot = int(key[:8], 16) % LOCK_SLOTS if len(key) >= 8 else 0
        fd = os.open(folder / f"{slot:03d}.lock", os.O_RDWR | os.O_CREAT, PRIVATE_FILE)
        with contextlib.suppress(OSError):
            os.fchmod(fd, PRIVATE_FILE)  # one an older version made 0644
        try:
            waited = False
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError as exc:
                    waited = True
                    if not pause(LOCK_POLL_SECONDS):
                        raise FetchStopped(
                            "The fetch was stopped; every answer that arrived is kept."
                        ) from exc
            try:
                yield waited
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def clear(self) -> None:
        self._write_refused()
        self._cache.clear()

    def close(self) -> None:
        self._cache.close()

    def __len__(self) -> int:
        """Stored answers (not counting their meta records or the generation counter)."""
        self._check()
        return sum(
            1
            for key in self._cache.iterkeys()
            if not str(key).startswith("meta:") and key != "generation"
        )
