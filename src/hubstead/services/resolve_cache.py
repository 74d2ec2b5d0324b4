"""What `HEAD /resolve` looks up, kept per process: the repository's row by name, and the file
metadata of (repository, commit, path).

`from_pretrained` sends a HEAD of /resolve for every file it needs, so these lookups are the
hub's hottest path. Without the cache each one costs two database queries (the repository by
name, then whether an LFS object is linked to it) and a tree walk; with it, a hit costs two
small file reads and an in-memory lookup. What is *not* cached is decided on every request:
who the caller is (tokens are cached by `AccountService` for `token_cache_seconds`), whether
they may read the repository and pass its gate (`routing.open_repo` runs the same checks on the
cached row), and which commit the revision names.

Invalidation, across every `hubstead serve` process sharing the database and the git folder:

- **Refs** need none: the revision is resolved by libgit2 on each request, which reads the loose
  ref (or re-reads `packed-refs` when its stat changed). A commit, branch deletion, re-created
  branch or moved tag made by any process, or by `git push` itself, is seen at once; the file
  metadata is then looked up under the new commit id, a key that was never cached.
- **The repository's row and its LFS links** (visibility, gating, name, deletion, LFS objects
  unlinked) live in the database. Every such change replaces the repository's change token, a
  small file in its bare git folder (`GitStore.restamp`), after its transaction commits; a
  cached row or file is used only while the token it was loaded with is still the one on disk.
  A deleted repository's folder is gone, so nothing of it is used again.

Why a file and not the alternatives: a per-repository counter in the database would still cost
a query per request (the very cost the cache removes), and LISTEN/NOTIFY is asynchronous (a
process could answer from its cache before the notification arrived, and SQLite has none). The
token is read synchronously from the folder all processes already share, so a change
acknowledged by one process is visible to the next request any process answers. A miss reads
the token *before* it queries the database (`RepoService.get`), so a change that commits
in between leaves the entry stale-tokened, never stale-and-trusted.

Both caches are LRU and bounded: rows by count, file metadata by an estimate of its bytes (a
small file's content is kept for GET, up to `MAX_CACHED_CONTENT`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from cachetools import LRUCache

MAX_ROWS = 4096
MAX_CACHED_CONTENT = 64 * 1024  # a regular file's bytes kept with its metadata, at most
ENTRY_OVERHEAD = 600  # what an entry costs besides its content, roughly (objects, key, path)

V = TypeVar("V")


@dataclass(frozen=True)
class Stamped(Generic[V]):
    """A cached value and the repository's change token it was loaded under."""

    storage_key: str
    stamp: str
    value: V


class ResolveCache:
    """Two LRU maps behind one lock (requests run on the event loop and in the thread pool)."""

    def __init__(self, max_bytes: int, max_rows: int = MAX_ROWS) -> None:
        """`max_bytes`: the file metadata's budget; 0 turns the whole cache off."""
        self.enabled = max_bytes > 0
        self._lock = threading.Lock()
        self._rows: LRUCache[tuple, Stamped[Any]] = LRUCache(maxsize=max(1, max_rows))
        self._files: LRUCache[tuple, Any] = LRUCache(maxsize=max(1, max_bytes), getsizeof=_weight)

    def row(self, key: tuple, stamp_of: Callable[[str], str | None]) -> Stamped[Any] | None:
        """The row cached under `key` if its repository's token is unchanged, else None."""
        if not self.enabled:
            return None
        with self._lock:
            found = self._rows.get(key)
        if found is None or stamp_of(found.storage_key) != found.stamp:
            return None
        return found

    def keep_row(self, key: tuple, entry: Stamped[Any]) -> None:
        if self.enabled:
            with self._lock:
                self._rows[key] = entry

    def file(self, key: tuple) -> Any | None:
        """File metadata under (storage key, token, commit, path): the token is part of the key,
        so a restamped repository's entries are never found again (and age out)."""
        if not self.enabled:
            return None
        with self._lock:
            return self._files.get(key)

    def keep_file(self, key: tuple, value: Any) -> None:
        if not self.enabled:
            return
        with self._lock:
            try:
                self._files[key] = value
            except ValueError:  # larger than the whole budget
                pass

    def clear(self) -> None:
        with self._lock:
            self._rows.clear()
            self._files.clear()


def _weight(value: Any) -> int:
    content = getattr(value, "content", None)
    return ENTRY_OVERHEAD + (len(content) if content else 0)
