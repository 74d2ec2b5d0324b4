"""Bare git repositories: reading trees and history with pygit2, writing commits safely.

Objects (blobs, trees, commits) are written first; they are invisible until a ref points at them.
The ref is moved last with `git update-ref NEW OLD`, a compare-and-swap under git's own lock file,
so two writers racing on a branch can never overwrite each other and an interrupted request
leaves the branch exactly where it was.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import os
import shutil
import subprocess
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pygit2

from hubstead.domain.errors import BadRequest, Conflict, EntryNotFound, RevisionNotFound
from hubstead.domain.hashing import COMMIT_RE, SHORT_COMMIT_RE
from hubstead.domain.lfs_pointer import MAX_POINTER_SIZE, LfsPointer, parse_pointer
from hubstead.domain.revisions import MAX_REF_BYTES, check_revision
from hubstead.storage import lfs_history

ZERO_OID = "0" * 40
# A ref's `.lock` file this old was left by a killed git: a live `git update-ref` holds one for
# milliseconds, a push for the moment it moves its refs. Callers hold the repository's ref lock
# (`RepoService.ref_lock`), so no git of the hub's own is about to take it. A ref update that
# finds a younger one waits for it to go or to grow this old, so a crash costs the next writer
# at most this long, not a refusal (it was 120 s, and the repository refused every commit
# with 409 until then).
STALE_LOCK_SECONDS = 15
LOCK_POLL_SECONDS = 0.05

log = logging.getLogger("hubstead.gitrepo")

# The push policy lives in hubstead.githooks; the server passes its interpreter in the environment.
PRE_RECEIVE_HOOK = """#!/bin/sh
exec "${HUBSTEAD_PYTHON:-python3}" -m hubstead.githooks pre-receive
"""
BLOB_MODE = pygit2.GIT_FILEMODE_BLOB
HISTORY_ORDER = pygit2.GIT_SORT_TOPOLOGICAL | pygit2.GIT_SORT_TIME
OID_SIZE = 20  # bytes of a raw SHA-1 object id
HISTORY_CACHE_BYTES = 64 * 1024 * 1024  # what one process keeps of walked histories (3.3M commits)
# In each bare repository: a random token replaced whenever what the database says about the
# repository changes (visibility, gating, name, its LFS objects). See `GitStore.stamp`.
STAMP_FILE = "hubstead-stamp"


class HistoryCache:
    """Walked histories by commit id, least recently used dropped first, bounded in bytes.

    Keyed by the commit id alone: an id names its parents, so it names its whole history, in
    whichever repository holds it. Shared by the threads of a process, hence the lock."""

    def __init__(self, max_bytes: int = HISTORY_CACHE_BYTES) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[str, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, commit: str) -> bytes | None:
        with self._lock:
            found = self._entries.get(commit)
            if found is not None:
                self._entries.move_to_end(commit)
            return found

    def put(self, commit: str, ids: bytes) -> None:
        if len(ids) > self.max_bytes // 4:
            return  # one giant history must not evict everything else
        with self._lock:
            if commit in self._entries:
                return
            self._entries[commit] = ids
            self._size += len(ids)
            while self._size > self.max_bytes:
                _, dropped = self._entries.popitem(last=False)
                self._size -= len(dropped)


@dataclass(frozen=True, slots=True)
class TreeEntry:
    """A file or folder of a tree, with what the Hub API reports about it."""

    path: str
    type: str  # "file" | "directory"
    oid: str  # git object id (blob or tree)
    size: int  # the real size of the file (LFS: the object's size)
    lfs: LfsPointer | None = None
    pointer_size: int = 0


@dataclass(frozen=True, slots=True)
class CommitInfo:
    id: str
    title: str
    message: str
    date: dt.datetime
    author: str
    parents: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class BlobChange:
    """Put `data` (a regular file or an LFS pointer) at `path`."""

    path: str
    data: bytes


@dataclass(frozen=True, slots=True)
class PathDeletion:
    path: str
    folder: bool = False


Change = BlobChange | PathDeletion


class GitStore:
    """All bare repositories, one directory per repository's storage key."""

    def __init__(self, root: Path):
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self.histories = HistoryCache()
        self._stamp_paths: dict[str, str] = {}  # storage key -> its stamp file's path

    def path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.git"

    def init(self, key: str) -> GitRepo:
        path = self.path(key)
        pygit2.init_repository(str(path), bare=True, initial_head="main")
        self.prepare_for_push(key)
        return GitRepo(path, self.histories)

    def prepare_for_push(self, key: str) -> None:
        """Install the push policy: git's fsck on received objects and the pre-receive hook."""
        path = self.path(key)
        hook = path / "hooks" / "pre-receive"
        if hook.exists() and hook.read_text() == PRE_RECEIVE_HOOK:
            return
        repo = pygit2.Repository(str(path))
        repo.config["receive.fsckObjects"] = True
        repo.config["http.receivepack"] = True
        hook.parent.mkdir(exist_ok=True)
        tmp = hook.with_suffix(".tmp")
        tmp.write_text(PRE_RECEIVE_HOOK)
        tmp.chmod(0o755)
        tmp.replace(hook)

    def open(self, key: str) -> GitRepo:
        return GitRepo(self.path(key), self.histories)

    def open_cached(self, key: str) -> GitRepo:
        """A per-thread handle, reused across requests: opening costs more than a lookup.

        pygit2 handles must not be shared between threads; refs are re-read from disk on every
        lookup, so a cached handle still sees every ref update.
        """
        cache = getattr(self._local, "repos", None)
        if cache is None:
            cache = self._local.repos = {}
        repo = cache.get(key)
        if repo is None or not repo.path.exists():
            if len(cache) >= 64:
                cache.pop(next(iter(cache)))
            repo = cache[key] = GitRepo(self.path(key), self.histories)
        return repo

    def delete(self, key: str) -> None:
        shutil.rmtree(self.path(key), ignore_errors=True)

    def stamp(self, key: str) -> str | None:
        """The repository's change token (made if it has none yet); None once it is deleted, or
        when there is no room to make one (the caller then does not cache).

        Processes that keep a repository's row or file metadata in memory (services/
        resolve_cache.py) compare it on every use: reading a 32-byte file of the shared git
        folder costs a few microseconds, and every process (on any machine mounting the
        folder) sees a new token the moment `restamp` has replaced the file.
        """
        path = self._stamp_paths.get(key)
        if path is None:
            if len(self._stamp_paths) > 100_000:
                self._stamp_paths.clear()
            path = self._stamp_paths[key] = str(self.path(key) / STAMP_FILE)
        try:  # os-level calls: this runs on every HEAD of /resolve (pathlib costs twice as much)
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            return self._first_stamp(Path(path))
        try:
            return os.read(fd, 64).decode()
        finally:
            os.close(fd)

    @staticmethod
    def _first_stamp(path: Path) -> str | None:
        if not path.parent.is_dir():
            return None  # deleted (or never created): nothing to remember
        try:  # the first reader makes it; a racing one finds the file and reads it
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_text()
        except FileNotFoundError:
            return None  # deleted meanwhile
        except OSError:
            return None  # a full disk (no inode): serve uncached; a read must not be a 507
        token = uuid.uuid4().hex
        try:
            with os.fdopen(fd, "w") as out:
                out.write(token)
        except OSError:  # no room for 32 bytes: leave no empty token behind
            path.unlink(missing_ok=True)
            return None
        return token

    def restamp(self, key: str) -> None:
        """A new change token: call it once a change of the repository's row is committed.
        The file is replaced whole (rename), so a reader sees the old token or the new one."""
        folder = self.path(key)
        if not folder.is_dir():
            return
        tmp = folder / f"{STAMP_FILE}.{uuid.uuid4().hex}.tmp"
        tmp.write_text(uuid.uuid4().hex)
        tmp.chmod(0o600)
        tmp.replace(folder / STAMP_FILE)


class GitRepo:
    def __init__(self, path: Path, histories: HistoryCache | None = None):
        self.path = path
        self._repo = pygit2.Repository(str(path))
        self._histories = histories

    # -- refs ---------------------------------------------------------------------------------

    def resolve(self, revision: str) -> str:
        """A branch, tag, full ref (refs/pr/1) or 40-hex commit id → commit id."""
        check_revision(revision)  # a longer one names nothing, and libgit2 would raise
        if COMMIT_RE.match(revision):
            obj = self._repo.get(revision)
            if obj is not None and obj.type == pygit2.GIT_OBJECT_COMMIT:
                return revision
        candidates = (
            [revision]
            if revision.startswith("refs/")
            else [f"refs/heads/{revision}", f"refs/tags/{revision}"]
        )
        for name in candidates:
            if not pygit2.reference_is_valid_name(name):
                continue
            ref = self._repo.references.get(name)
            if ref is not None:
                return str(ref.peel(pygit2.Commit).id)
        raise RevisionNotFound(f"Invalid rev id: {revision}")

    def ref_target(self, ref: str) -> str | None:
        if len(ref.encode("utf-8", "surrogatepass")) > MAX_REF_BYTES:
            return None  # names nothing (libgit2 would raise)
        found = self._repo.references.get(ref)
        return str(found.peel(pygit2.Commit).id) if found is not None else None

    def default_branch(self, fallback: str = "main") -> str:
        """The branch HEAD names, which `git clone` checks out; `fallback` when HEAD is detached
        or names a branch that no longer exists (a clone would check nothing out)."""
        head = self._repo.references.get("HEAD")
        target = head.target if head is not None else None
        if isinstance(target, str) and target.startswith("refs/heads/"):
            if self._repo.references.get(target) is not None:
                return target.removeprefix("refs/heads/")
        return fallback

    def set_default_branch(self, branch: str) -> None:
        """Point HEAD at `refs/heads/<branch>` (libgit2 writes HEAD through a lock file)."""
        self._repo.set_head(f"refs/heads/{branch}")

    def resolve_abbreviated(self, revision: str) -> str:
        """Like `resolve`, and also an abbreviated commit id (7 to 39 hex digits, unambiguous),
        which the Hub accepts where a commit is named to create something (a tag)."""
        try:
            return self.resolve(revision)
        except RevisionNotFound:
            if not SHORT_COMMIT_RE.match(revision):
                raise
        try:
            found = self._repo.get(revision)
        except (ValueError, pygit2.GitError):  # ambiguous prefix
            found = None
        if found is None or found.type != pygit2.GIT_OBJECT_COMMIT:
            raise RevisionNotFound(f"Invalid rev id: {revision}")
        return str(found.id)

    def refs(self, prefix: str) -> dict[str, str]:
        """Refs under a prefix (e.g. "refs/heads/") → the commit they point at."""
        result = {}
        for name in self._repo.references:
            if name.startswith(prefix):
                result[name[len(prefix) :]] = str(
                    self._repo.references[name].peel(pygit2.Commit).id
                )
        return dict(sorted(result.items()))

    def update_ref(self, ref: str, new: str, old: str | None, message: str = "") -> bool:
        """Compare-and-swap `ref` from `old` (None: must not exist) to `new`."""
        args = ["git", "--git-dir", str(self.path), "update-ref", "-m", message or "update"]
        return self._ref_command(ref, [*args, ref, new, old or ZERO_OID])

    def delete_ref(self, ref: str, old: str | None = None) -> bool:
        args = ["git", "--git-dir", str(self.path), "update-ref", "-d", ref]
        if old:
            args.append(old)
        return self._ref_command(ref, args)

    def _ref_command(self, ref: str, args: list[str]) -> bool:
        """Run a ref update; when it failed on a lock file, wait that lock out (`wait_out_lock`)
        and try once more. Servers sharing the data folder keep running when one of them dies,
        so its leftovers cannot wait for a restart."""
        if subprocess.run(args, capture_output=True).returncode == 0:
            return True
        if not self.wait_out_lock(ref):
            return False  # no lock in the way: the ref is not at `old` (the caller retries)
        return subprocess.run(args, capture_output=True).returncode == 0

    def wait_out_lock(self, ref: str, stale_after: float = STALE_LOCK_SECONDS) -> bool:
        """Whether `ref`'s (or packed-refs') lock file was in the way: wait until a live git
        lets go of it, or remove it once `stale_after` old (a killed git's never goes)."""
        locks = [self.path / f"{ref}.lock", self.path / "packed-refs.lock"]
        found = False
        while True:
            held = []
            for lock in locks:
                try:
                    age = time.time() - lock.stat().st_mtime
                except FileNotFoundError:
                    continue
                found = True
                if age < stale_after:
                    held.append(lock)
                    continue
                lock.unlink(missing_ok=True)
                log.warning("removed the stale git lock %s", lock)
            if not held:
                return found
            locks = held
            time.sleep(LOCK_POLL_SECONDS)

    def write_tag_object(
        self, name: str, commit: str, message: str, tagger: pygit2.Signature
    ) -> str:
        """Write an annotated tag object without creating its ref (callers CAS the ref)."""
        raw = (
            f"object {commit}\ntype commit\ntag {name}\n"
            f"tagger {tagger.name} <{tagger.email}> {tagger.time} +0000\n\n{message.rstrip()}\n"
        )
        return str(self._repo.odb.write(pygit2.GIT_OBJECT_TAG, raw.encode()))

    # -- trees and blobs ----------------------------------------------------------------------

    def _tree(self, commit: str) -> pygit2.Tree:
        return self._repo[commit].peel(pygit2.Tree)

    def entry(self, commit: str, path: str) -> TreeEntry | None:
        """The file or folder at `path` in `commit`, or None."""
        tree = self._tree(commit)
        if path in ("", "/"):
            return TreeEntry(path="", type="directory", oid=str(tree.id), size=0)
        try:
            obj = tree[path]
        except KeyError:
            return None
        return self._describe(path, obj)

    def _describe(self, path: str, obj: pygit2.Object) -> TreeEntry:
        if obj.type == pygit2.GIT_OBJECT_TREE:
            return TreeEntry(path=path, type="directory", oid=str(obj.id), size=0)
        _, size = self._repo.odb.read_header(obj.id)
        pointer = None
        if size <= MAX_POINTER_SIZE:
            pointer = parse_pointer(self._repo[obj.id].data)
        if pointer is not None:
            return TreeEntry(
                path, "file", str(obj.id), pointer.size, lfs=pointer, pointer_size=size
            )
        return TreeEntry(path=path, type="file", oid=str(obj.id), size=size)

    def list_tree(self, commit: str, path: str = "", recursive: bool = False) -> list[TreeEntry]:
        """Entries under `path` in git order; recursive listings include the folders themselves."""
        return [
            self._describe(p, obj)
            for p, obj in self._walk(self._folder(commit, path), path, recursive)
        ]

    def list_tree_page(
        self, commit: str, path: str, recursive: bool, offset: int, limit: int
    ) -> tuple[list[TreeEntry], bool]:
        """`limit` entries of `list_tree` from `offset`, and whether more follow. Only the page's
        entries are described (a blob header read, an LFS pointer parsed each): a page of a
        folder of 100,000 files costs a page, not the folder."""
        objects = self._walk(self._folder(commit, path), path, recursive)
        page = [
            self._describe(p, obj) for p, obj in itertools.islice(objects, offset, offset + limit)
        ]
        return page, next(objects, None) is not None

    def _folder(self, commit: str, path: str) -> pygit2.Tree:
        tree = self._tree(commit)
        if path:
            try:
                tree = tree[path]
            except KeyError:
                raise EntryNotFound(f"{path} does not exist on this revision") from None
            if tree.type != pygit2.GIT_OBJECT_TREE:
                raise EntryNotFound(f"{path} is a file, not a folder")
        return tree

    def _walk(
        self, tree: pygit2.Tree, base: str, recursive: bool
    ) -> Iterator[tuple[str, pygit2.Object]]:
        for obj in tree:
            path = f"{base}/{obj.name}" if base else obj.name
            yield path, obj
            if recursive and obj.type == pygit2.GIT_OBJECT_TREE:
                yield from self._walk(obj, path, True)

    def read_blob(self, oid: str) -> bytes:
        return self._repo[oid].data

    def read_file(self, commit: str, path: str) -> bytes | None:
        entry = self.entry(commit, path)
        if entry is None or entry.type != "file":
            return None
        return self.read_blob(entry.oid)

    # -- LFS pointers across history ----------------------------------------------------------

    def lfs_pointer_locations(self, refs: list[str]) -> dict[str, tuple[str, str]]:
        """LFS oid → (a path, the first of `refs` whose history holds a pointer to it)."""
        return lfs_history.pointer_locations(self._repo, refs)

    def remove_lfs_pointers(self, oids: set[str], attempts: int = 25) -> dict[str, str]:
        """Rewrite the history of every ref without the pointer files naming `oids`; returns the
        refs that moved → their new commit. Each ref moves by compare-and-swap: one that moved
        meanwhile is rewritten again from its new tip, so a concurrent commit is kept (rewritten
        too), never dropped."""
        scrubber = lfs_history.PointerScrubber(self._repo, frozenset(oids))
        moved: dict[str, str] = {}
        for name in list(self._repo.references):
            for _ in range(attempts):
                reference = self._repo.references.get(name)
                if reference is None or not isinstance(reference.target, pygit2.Oid):
                    break  # deleted meanwhile, or symbolic
                old = reference.target
                new = scrubber.rewrite_target(old)
                if new is None:
                    break
                if self.update_ref(name, str(new), str(old), "permanently delete LFS files"):
                    moved[name] = str(self._repo[new].peel(pygit2.Commit).id)
                    break
            else:
                raise Conflict(f"Cannot rewrite {name}: it is being updated too often, try again")
        return moved

    # -- history ------------------------------------------------------------------------------

    def _info(self, commit: pygit2.Commit) -> CommitInfo:
        title, _, rest = commit.message.partition("\n")
        date = dt.datetime.fromtimestamp(commit.commit_time, dt.UTC)
        return CommitInfo(
            id=str(commit.id),
            title=title.strip(),
            message=rest.strip(),
            date=date,
            author=commit.author.name,
            parents=tuple(str(p) for p in commit.parent_ids),
        )

    def commit_info(self, commit: str) -> CommitInfo:
        return self._info(self._repo[commit])

    def log(self, commit: str) -> Iterator[CommitInfo]:
        """Commits reachable from `commit`, newest first."""
        walker = self._repo.walk(pygit2.Oid(hex=commit), HISTORY_ORDER)
        for item in walker:
            yield self._info(item)

    def log_page(self, commit: str, offset: int, limit: int) -> tuple[list[CommitInfo], int]:
        """`limit` commits of `log(commit)` from `offset`, and how many the whole log has.

        The order (topological, then by time) needs the whole history walked, so the walk's
        result, the commit ids, is kept by the store: a commit's history never changes, whatever
        happens to the branches, so the next pages (and the same page for the next client)
        read only their own commits."""
        ids = self._history(commit)
        page = ids[offset * OID_SIZE : (offset + limit) * OID_SIZE]
        infos = [
            self._info(self._repo[pygit2.Oid(raw=page[i : i + OID_SIZE])])
            for i in range(0, len(page), OID_SIZE)
        ]
        return infos, len(ids) // OID_SIZE

    def _history(self, commit: str) -> bytes:
        """The raw ids of every commit reachable from `commit`, in log order."""
        cached = self._histories.get(commit) if self._histories is not None else None
        if cached is None:
            walker = self._repo.walk(pygit2.Oid(hex=commit), HISTORY_ORDER)
            cached = b"".join(item.id.raw for item in walker)
            if self._histories is not None:
                self._histories.put(commit, cached)
        return cached

    def last_commits(
        self, commit: str, paths: Iterable[str], max_walk: int = 10_000
    ) -> dict[str, CommitInfo]:
        """For each path, the newest commit (first-parent history) that changed it."""
        pending = set(paths)
        found: dict[str, CommitInfo] = {}
        current = self._repo[commit]
        walked = 0
        while pending and current is not None and walked < max_walk:
            walked += 1
            parent = current.parents[0] if current.parents else None
            for path in list(pending):
                if _entry_id(current.tree, path) != (
                    _entry_id(parent.tree, path) if parent else None
                ):
                    found[path] = self._info(current)
                    pending.discard(path)
            current = parent
        return found

    # -- writing ------------------------------------------------------------------------------

    def build_commit(
        self, parent: str | None, changes: list[Change], author: pygit2.Signature, message: str
    ) -> str:
        """Write the objects of a new commit on top of `parent`; no ref is moved."""
        index = pygit2.Index()
        if parent:
            index.read_tree(self._tree(parent))
        files = _Paths(entry.path for entry in index)
        for change in changes:
            if isinstance(change, BlobChange):
                files.check_can_add(change.path)
                blob = self._repo.create_blob(change.data)
                index.add(pygit2.IndexEntry(change.path, blob, BLOB_MODE))
                files.add(change.path)
            else:
                for path in files.deleted_by(change):
                    index.remove(path)
                    files.remove(path)
        tree = index.write_tree(self._repo)
        parents = [pygit2.Oid(hex=parent)] if parent else []
        oid = self._repo.create_commit(None, author, author, message, tree, parents)
        return str(oid)

    def squash(self, head: str, author: pygit2.Signature, message: str) -> str:
        """A root commit with `head`'s tree: a branch's whole history as one commit (no ref moved)."""
        return str(self._repo.create_commit(None, author, author, message, self._tree(head).id, []))

    def merge(self, base: str, head: str, author: pygit2.Signature, message: str) -> str:
        """Merge `head` into `base`: fast-forward when possible, else a merge commit."""
        if base == head or self._repo.descendant_of(pygit2.Oid(hex=base), pygit2.Oid(hex=head)):
            return base
        if self._repo.descendant_of(pygit2.Oid(hex=head), pygit2.Oid(hex=base)):
            return head
        index = self._repo.merge_commits(base, head)
        if index.conflicts is not None:
            raise Conflict("The pull request has conflicts with the base branch")
        tree = index.write_tree(self._repo)
        parents = [pygit2.Oid(hex=base), pygit2.Oid(hex=head)]
        return str(self._repo.create_commit(None, author, author, message, tree, parents))

    def merge_base(self, one: str, other: str) -> str | None:
        """The best common ancestor of two commits (None for unrelated histories)."""
        found = self._repo.merge_base(pygit2.Oid(hex=one), pygit2.Oid(hex=other))
        return str(found) if found is not None else None

    def diff(self, base: str, head: str, max_bytes: int) -> str:
        """A unified diff (`git diff base head`), cut at `max_bytes` on a line boundary so a huge
        pull request cannot make one response unbounded. LFS files show their pointer change."""
        patch = self._repo.diff(self._repo[base], self._repo[head]).patch or ""
        if len(patch) <= max_bytes:
            return patch
        return patch[: patch.rfind("\n", 0, max_bytes) + 1]

    def commit_diff(self, commit: str, max_bytes: int) -> str:
        """The unified diff a commit made to its first parent (to nothing for a root commit),
        cut like `diff`. LFS files show their pointer change."""
        current = self._repo[commit].peel(pygit2.Commit)
        if current.parents:
            diff = self._repo.diff(current.parents[0].tree, current.tree)
        else:
            diff = current.tree.diff_to_tree(swap=True)
        patch = diff.patch or ""
        if len(patch) <= max_bytes:
            return patch
        return patch[: patch.rfind("\n", 0, max_bytes) + 1]

    def conflicting_files(self, base: str, head: str) -> list[str]:
        """Paths a merge of `head` into `base` would leave in conflict (none for fast-forwards)."""
        if base == head or self._repo.descendant_of(pygit2.Oid(hex=head), pygit2.Oid(hex=base)):
            return []
        if self._repo.descendant_of(pygit2.Oid(hex=base), pygit2.Oid(hex=head)):
            return []
        conflicts = self._repo.merge_commits(base, head).conflicts
        if conflicts is None:
            return []
        return sorted({(ours or theirs or ancestor).path for ancestor, ours, theirs in conflicts})


def _entry_id(tree: pygit2.Tree, path: str) -> pygit2.Oid | None:
    try:
        return tree[path].id
    except KeyError:
        return None


class _Paths:
    """The files of a commit being built, with the folders they imply, for conflict checks."""

    def __init__(self, files: Iterable[str]):
        self.files = set(files)
        self._folders: set[str] | None = None

    @property
    def folders(self) -> set[str]:
        if self._folders is None:
            self._folders = {
                p.rsplit("/", i)[0] for p in self.files for i in range(1, p.count("/") + 1)
            }
        return self._folders

    def check_can_add(self, path: str) -> None:
        """A file cannot replace a folder, and a folder cannot be created where a file stands."""
        parts = path.split("/")
        for i in range(1, len(parts)):
            prefix = "/".join(parts[:i])
            if prefix in self.files:
                raise BadRequest(f"Cannot create {path}: {prefix} is a file")
        if path in self.folders:
            raise BadRequest(f"Cannot create file {path}: a folder with this name exists")

    def add(self, path: str) -> None:
        self.files.add(path)
        if self._folders is not None:
            self._folders.update(path.rsplit("/", i)[0] for i in range(1, path.count("/") + 1))

    def remove(self, path: str) -> None:
        self.files.discard(path)
        self._folders = None  # a folder may have become empty

    def under(self, folder: str) -> list[str]:
        prefix = folder + "/"
        return [path for path in self.files if path.startswith(prefix)]

    def deleted_by(self, change: PathDeletion) -> list[str]:
        """The files a deletion removes. A `deletedFile` naming a folder deletes the folder, as on
        the Hub (the client sends one for `CommitOperationDelete("folder")` without a slash)."""
        if not change.folder and change.path in self.files:
            return [change.path]
        doomed = self.under(change.path)
        if not doomed:
            kind = "folder" if change.folder else "file"
            raise EntryNotFound(f"A {kind} with this name doesn't exist: {change.path}")
        return doomed


def signature(name: str, email: str, when: dt.datetime | None = None) -> pygit2.Signature:
    when = when or dt.datetime.now(dt.UTC)
    return pygit2.Signature(name, email, int(when.timestamp()), 0)
