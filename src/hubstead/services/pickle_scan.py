"""Pickle scanning: which imports a pickle-based weights file makes, read without unpickling it.

Loading a pickle (`torch.load` of a `.bin`, `.pt`, `.ckpt`…, `joblib.load`, `pickle.load`) runs
whatever its GLOBAL / STACK_GLOBAL opcodes import and REDUCE calls: `os.system` as easily as
`torch._utils._rebuild_tensor_v2`. picklescan lists those imports by disassembling the opcodes
with `pickletools.genops` (nothing is executed or imported), walks the `data.pkl` members of the
zip files torch saves, and rates each import against its lists: innocuous (torch, collections,
numpy's array rebuilding…), dangerous (os, subprocess, builtins.eval, …) or suspicious (anything
else).

Every ref change (a commit through the API or a push: the RepoService listeners) scans the
pickle files of its new target that no scan has seen yet. A verdict is kept per content (the
LFS SHA-256, or the git blob id of a file kept in git), so the same bytes are scanned once for
every repository. Bytes come from git, the blob store or Xet through ranged reads, at most
`max_bytes` per file: a file that would need more is reported with what was found so far and
the level "caution" (never "safe").

The verdict is the Hub's: a file is "unsafe" when it imports something dangerous, "caution"
when it imports something the scanner does not know or could not be scanned whole, "safe"
otherwise; `securityRepoStatus` (model_info with `securityStatus`), `securityFileStatus`
(tree and paths-info with `expand`) and the model page show it.
"""

from __future__ import annotations

import importlib.metadata
import io
import logging
import posixpath
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from picklescan import scanner as picklescan
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from hubstead.services.repos import RepoHandle
from hubstead.services.xet import XetService
from hubstead.storage.blobstore import BlobStore
from hubstead.storage.database import Database
from hubstead.storage.gitrepo import GitRepo, GitStore, TreeEntry
from hubstead.storage.models import LfsObject, PickleScan, Repository, utcnow

log = logging.getLogger("hubstead.pickle_scan")

# the pickle-based formats: torch.save (.bin .pt .pth .ckpt), pickle, joblib
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle", ".joblib")
SCANNER = f"picklescan {importlib.metadata.version('picklescan')}"
READ_WINDOW = 1024 * 1024  # bytes fetched per ranged read
SAFETY_ORDER = {"innocuous": 0, "suspicious": 1, "dangerous": 2}
LEVELS = ("safe", "caution", "unsafe")  # the file's level by its worst import's rank
_SCANS = PickleScan.__table__


def is_pickle_file(path: str) -> bool:
    return path.lower().endswith(PICKLE_SUFFIXES)


def content_id(entry: TreeEntry) -> str:
    """What a verdict is kept under: the LFS object's SHA-256, or the git blob id."""
    return entry.lfs.oid if entry.lfs is not None else entry.oid


@dataclass(frozen=True)
class Verdict:
    level: str  # "safe" | "caution" | "unsafe"
    imports: list[dict] = field(default_factory=list)  # {"module", "name", "safety"}, sorted
    message: str | None = None  # why the scan is incomplete


@dataclass(frozen=True)
class FileStatus:
    """A scanned file of a revision, for the API and the page."""

    path: str
    level: str
    imports: list[dict]
    message: str | None
    scanner: str

    @property
    def dangerous(self) -> list[str]:
        return [f"{i['module']}.{i['name']}" for i in self.imports if i["safety"] == "dangerous"]

    @property
    def suspicious(self) -> list[str]:
        return [f"{i['module']}.{i['name']}" for i in self.imports if i["safety"] == "suspicious"]


@dataclass(frozen=True)
class RepoStatus:
    """The pickle files of a revision: all scanned or not, and the scanned ones."""

    scans_done: bool
    files: list[FileStatus]

    @property
    def with_issues(self) -> list[FileStatus]:
        return [f for f in self.files if f.level != "safe"]


class RangeReader(io.RawIOBase):
    """A seekable, read-only file over `read_range(start, end)`, fetching READ_WINDOW bytes at a
    time and never more than `budget` bytes in all. A read never asks for more than the file
    has, so a length a hostile pickle claims allocates nothing; `cut` tells that the budget,
    not the end of the file, stopped a read."""

    def __init__(self, size: int, read_range: Callable[[int, int], bytes], budget: int):
        super().__init__()
        self.size = size
        self._read_range = read_range
        self.budget = budget
        self._spent = 0
        self._pos = 0
        self._window = b""
        self._window_start = 0
        self.cut = False

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def read(self, size: int | None = -1) -> bytes:
        wanted = self.size - self._pos if size is None or size < 0 else size
        wanted = max(0, min(wanted, self.size - self._pos))
        out = bytearray()
        while wanted > 0 and self._fill():
            offset = self._pos - self._window_start
            piece = self._window[offset : offset + wanted]
            out += piece
            self._pos += len(piece)
            wanted -= len(piece)
        return bytes(out)

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def readline(self, size: int | None = -1) -> bytes:
        limit = self.size if size is None or size < 0 else size
        out = bytearray()
        while len(out) < limit and self._fill():
            offset = self._pos - self._window_start
            end = self._window.find(b"\n", offset)
            stop = len(self._window) if end < 0 else end + 1
            piece = self._window[offset : min(stop, offset + limit - len(out))]
            out += piece
            self._pos += len(piece)
            if piece.endswith(b"\n"):
                break
        return bytes(out)

    def _fill(self) -> bool:
        """Make the window hold the byte at the position; False at the end or the budget."""
        if self._window_start <= self._pos < self._window_start + len(self._window):
            return True
        if self._pos >= self.size:
            return False
        length = min(READ_WINDOW, self.size - self._pos, self.budget - self._spent)
        if length <= 0:
            self.cut = True
            return False
        self._window = self._read_range(self._pos, self._pos + length)
        self._window_start = self._pos
        self._spent += len(self._window)
        return bool(self._window)


def scan_stream(reader: RangeReader, path: str) -> Verdict:
    """Run picklescan over one file (by its extension's format) and rate what it found."""
    extension = posixpath.splitext(path.lower())[1]
    message = None
    try:
        result = picklescan.scan_bytes(reader, path, extension)
        found = {(g.module, g.name): g.safety.value for g in result.globals}
        if result.scan_err:
            message = "The pickle is malformed: only the imports before the error are known."
    except Exception as error:  # noqa: BLE001 - picklescan raises plain Exceptions (7z, zip)
        found = {}
        message = f"The file could not be scanned: {error}"
    if reader.cut:
        message = f"Only the first {reader.budget} bytes were scanned (the scan's limit)."
    imports = sorted(
        (
            {"module": module, "name": name, "safety": safety}
            for (module, name), safety in found.items()
        ),
        key=lambda i: (-SAFETY_ORDER[i["safety"]], i["module"], i["name"]),
    )
    worst = max((SAFETY_ORDER[i["safety"]] for i in imports), default=0)
    if message is not None:
        worst = max(worst, SAFETY_ORDER["suspicious"])  # an incomplete scan is never "safe"
    return Verdict(LEVELS[worst], imports, message)


class PickleScanService:
    def __init__(
        self, db: Database, git: GitStore, blobs: BlobStore, xet: XetService, max_bytes: int
    ):
        self.db = db
        self.git = git
        self.blobs = blobs
        self.xet = xet
        self.max_bytes = max_bytes

    # -- scanning -----------------------------------------------------------------------------

    def on_ref_change(self, repo_row_id: int, ref: str, target: str | None) -> None:
        """Listener for RepoService: scan the new target's unscanned pickle files. Never fails
        a write (the commit has landed; the files stay "unscanned" until the next change)."""
        if target is None:
            return
        try:
            self.scan_commit(repo_row_id, target)
        except Exception:  # noqa: BLE001
            log.exception("could not scan the pickle files of repository %s", repo_row_id)

    def scan_commit(self, repo_row_id: int, commit: str) -> int:
        """Scan the pickle files of `commit` whose content has no verdict of this scanner yet;
        returns how many were scanned."""
        with self.db.session() as session:
            row = session.get(Repository, repo_row_id)
            key = row.storage_key if row is not None else None
        if key is None:
            return 0
        git = self.git.open_cached(key)
        entries = [
            e
            for e in git.list_tree(commit, recursive=True)
            if e.type == "file" and is_pickle_file(e.path)
        ]
        current = self._verdicts({content_id(e) for e in entries})
        scanned = 0
        for entry in {content_id(e): e for e in entries}.values():
            stored = current.get(content_id(entry))
            if stored is not None and stored.scanner == SCANNER:
                continue
            self._store(content_id(entry), self._scan_entry(git, entry))
            scanned += 1
        return scanned

    def _scan_entry(self, git: GitRepo, entry: TreeEntry) -> Verdict:
        read_range = self._reader_of(git, entry)
        if read_range is None:
            return Verdict("caution", [], "The file's bytes are not stored on this hub.")
        return scan_stream(RangeReader(entry.size, read_range, self.max_bytes), entry.path)

    def _reader_of(self, git: GitRepo, entry: TreeEntry) -> Callable[[int, int], bytes] | None:
        """Ranged reads of the file's bytes: git, the blob store (LFS) or Xet."""
        if entry.lfs is None:
            content = git.read_blob(entry.oid)
            return lambda start, end: content[start:end]
        oid = entry.lfs.oid
        if self.blobs.exists(oid):
            return lambda start, end: self.blobs.read_range(oid, start, end)
        with self.db.session() as session:
            stored = session.get(LfsObject, oid)
            xet_hash = stored.xet_hash if stored is not None else None
        if xet_hash is None:
            return None
        size = entry.size
        return lambda start, end: b"".join(self.xet.stream(xet_hash, size, start, end))

    def _store(self, oid: str, verdict: Verdict) -> None:
        try:
            with self.db.session() as session:
                scan = session.get(PickleScan, oid) or PickleScan(oid=oid)
                scan.scanner = SCANNER
                scan.level = verdict.level
                scan.imports = verdict.imports
                scan.message = verdict.message
                scan.scanned_at = utcnow()
                session.merge(scan)
        except IntegrityError:
            pass  # scanned concurrently by another process: the same bytes, the same verdict

    # -- reading verdicts ---------------------------------------------------------------------

    def _verdicts(self, oids: Iterable[str]) -> dict[str, PickleScan]:
        wanted = sorted(set(oids))
        found: dict[str, PickleScan] = {}
        with self.db.session() as session:
            for i in range(0, len(wanted), 500):
                rows = session.scalars(
                    select(PickleScan).where(_SCANS.c.oid.in_(wanted[i : i + 500]))
                )
                found.update({row.oid: row for row in rows})
        return found

    def file_statuses(self, entries: Iterable[TreeEntry]) -> dict[str, FileStatus]:
        """The verdicts of the scanned pickle files among `entries`, by path."""
        pickles = [e for e in entries if e.type == "file" and is_pickle_file(e.path)]
        verdicts = self._verdicts(content_id(e) for e in pickles)
        return {
            e.path: FileStatus(e.path, v.level, list(v.imports), v.message, v.scanner)
            for e in pickles
            if (v := verdicts.get(content_id(e))) is not None
        }

    def repo_status(self, files: Iterable[TreeEntry]) -> RepoStatus:
        """Whether every pickle file of a revision was scanned, and what was found."""
        pickles = [e for e in files if e.type == "file" and is_pickle_file(e.path)]
        statuses = self.file_statuses(pickles)
        return RepoStatus(
            scans_done=all(e.path in statuses for e in pickles),
            files=[statuses[e.path] for e in pickles if e.path in statuses],
        )

    def head_status(self, handle: RepoHandle) -> RepoStatus:
        """The verdicts of the default branch's pickle files (for the repository's page)."""
        if not handle.row.head_sha:
            return RepoStatus(True, [])
        commit = handle.git.resolve(handle.default_branch())
        return self.repo_status(handle.git.list_tree(commit, recursive=True))
