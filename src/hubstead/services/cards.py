"""Model and dataset cards: what the hub derives from a repository's files.

After every change of the default branch the hub reads README.md (metadata + text), config.json,
tokenizer_config.json and the headers of the safetensors files, derives the tags, pipeline,
library and the other fields the API returns, renders the card to HTML, and stores it all in
`repo_cards`: listings and search read that row instead of opening git. Other revisions are
derived on request.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from functools import partial
from typing import NamedTuple

from sqlalchemy import select

from hubstead.domain.cards import CardSyntaxError, split_card
from hubstead.domain.cards.completeness import Item, check_completeness
from hubstead.domain.cards.lint import Finding, card_layout, lint_card
from hubstead.domain.inference.serving import inference_off, weight_bytes
from hubstead.domain.repo_ids import RepoType
from hubstead.domain.tags import RepoSnapshot, dataset_tags, derive_model_data
from hubstead.domain.tags.eval_results import (
    MAX_EVAL_RESULT_BYTES,
    MAX_EVAL_RESULT_FILES,
    is_eval_results_file,
    parse_eval_results_file,
)
from hubstead.domain.tags.safetensors_summary import summarize_counts
from hubstead.rendering import RENDERER_VERSION, render_card_html
from hubstead.services.files import FileService
from hubstead.services.listing_index import ListingIndex
from hubstead.services.repos import RepoHandle
from hubstead.services.urls import Paths, markdown_prefixes
from hubstead.services.weights import ParameterCounts, Unreadable
from hubstead.services.xet import XetService
from hubstead.storage.blobstore import BlobMissing, BlobStore
from hubstead.storage.database import Database
from hubstead.storage.gitrepo import GitStore, TreeEntry
from hubstead.storage.models import RepoCard, Repository, utcnow

log = logging.getLogger("hubstead.cards")
MAX_JSON_FILE = 5 * 1024 * 1024
MAX_SAFETENSORS_FILES = 64


@dataclass
class DerivedCard:
    """Everything derived from one commit of a repository."""

    commit: str
    card_data: dict
    card_text: str
    tags: list[str]
    pipeline_tag: str | None = None
    library_name: str | None = None
    derived: dict = field(
        default_factory=dict
    )  # API fields: transformersInfo, config, safetensors, …


@dataclass(frozen=True)
class CardPreview:
    """A README as the editor shows it before the commit: its body rendered as the card page
    will show it (None: it could not be rendered), the linter's findings, the checklist."""

    html: str | None
    findings: list[Finding]
    checklist: list[Item]

    def to_json(self) -> dict[str, object]:
        return {
            "html": self.html,
            "findings": [finding.to_json() for finding in self.findings],
            "checklist": [item.to_json() for item in self.checklist],
            "errors": sum(finding.severity == "error" for finding in self.findings),
        }


class ListedCard(NamedTuple):
    """A stored card as lists read it: every column of `repo_cards` but the Markdown and the
    rendered HTML (reading those from it fails, as nothing that lists may show them)."""

    repo_id: int
    commit: str
    card_data: dict
    tags: list
    pipeline_tag: str | None
    library_name: str | None
    derived: dict
    inference_off: bool
    weight_bytes: int | None


_LISTED_COLUMNS = tuple(RepoCard.__table__.c[name] for name in ListedCard._fields)


class CardService:
    def __init__(
        self,
        db: Database,
        git: GitStore,
        blobs: BlobStore,
        xet: XetService,
        files: FileService,
        index: ListingIndex,
        *,
        paths: Paths,
        parameter_counts: ParameterCounts | None = None,
    ):
        self.db = db
        # each safetensors file's parameters, by content: read once per process
        self.parameter_counts = parameter_counts or ParameterCounts()
        self.paths = paths  # the hub's web paths, for links in rendered cards
        self.index = index
        self.git = git
        self.blobs = blobs
        self.xet = xet
        self.files = files

    # -- deriving -----------------------------------------------------------------------------

    def derive(self, handle: RepoHandle, commit: str) -> DerivedCard:
        git = handle.git
        entries = [e for e in git.list_tree(commit, recursive=True) if e.type == "file"]
        by_path = {e.path: e for e in entries}
        text = self._read_text(handle, by_path.get("README.md"))
        try:
            document = split_card(text)
            metadata, body = document.metadata, document.body
        except CardSyntaxError:
            metadata, body = {}, text
        files = [e.path for e in entries]
        if handle.type is not RepoType.MODEL:
            tags = (
                dataset_tags(metadata, files)
                if handle.type is RepoType.DATASET
                else list(metadata.get("tags") or [])
            )
            return DerivedCard(commit, metadata, body, [str(t) for t in tags])
        snapshot = RepoSnapshot(
            files=files,
            card_metadata=metadata,
            card_text=body,
            # diffusers pipelines describe themselves in model_index.json, PEFT adapters in
            # adapter_config.json: the derivation recognises either in place of config.json
            config=(
                self._read_json(handle, by_path.get("config.json"))
                or self._read_json(handle, by_path.get("model_index.json"))
                or self._read_json(handle, by_path.get("adapter_config.json"))
            ),
            tokenizer_config=self._read_json(handle, by_path.get("tokenizer_config.json")),
        )
        data = derive_model_data(snapshot)
        derived: dict = {
            "transformersInfo": data.transformers_info,
            "config": data.config,
            "widgetData": data.widget_data,
            "mask_token": data.mask_token,
            "evalResults": self._eval_results(handle, entries),
            "model-index": metadata.get("model-index"),
        }
        derived["safetensors"] = self._safetensors_summary(
            handle, [e for e in entries if e.path.endswith(".safetensors")]
        )
        return DerivedCard(
            commit,
            metadata,
            body,
            data.tags,
            data.pipeline_tag,
            data.library_name,
            {k: v for k, v in derived.items() if v not in (None, [], {})},
        )

    def _eval_results(self, handle: RepoHandle, entries: list[TreeEntry]) -> list[dict]:
        """The entries of the `.eval_results/*.yaml` files, in path order."""
        files = sorted((e for e in entries if is_eval_results_file(e.path)), key=lambda e: e.path)
        items: list[dict] = []
        for entry in files[:MAX_EVAL_RESULT_FILES]:
            data = self._read_bytes(handle, entry, MAX_EVAL_RESULT_BYTES)
            if data is None:
                items.append(
                    {"filename": entry.path, "error": "the file is too large or could not be read"}
                )
                continue
            items += parse_eval_results_file(entry.path, data.decode("utf-8", "replace"))
        return items

    def _read_bytes(
        self, handle: RepoHandle, entry: TreeEntry | None, limit: int, length: int | None = None
    ) -> bytes | None:
        """The first `length` bytes (default: all, up to `limit`) of a file, wherever it is stored."""
        if entry is None or entry.size > limit and length is None:
            return None
        end = entry.size if length is None else min(length, entry.size)
        try:
            return self._read_range(handle, entry, 0, end)
        except Unreadable:
            return None

    def _read_range(self, handle: RepoHandle, entry: TreeEntry, start: int, end: int) -> bytes:
        """Bytes [start, end) of a file: from git, the blob store or Xet (Unreadable: nowhere)."""
        if entry.lfs is None:
            return handle.git.read_blob(entry.oid)[start:end]
        try:
            return self.blobs.read_range(entry.lfs.oid, start, end)
        except BlobMissing:
            pass  # uploaded through Xet
        xet_hash = self.files.xet_hash(entry.lfs.oid)
        if xet_hash is None:
            raise Unreadable(entry.path)
        return b"".join(self.xet.stream(xet_hash, entry.size, start, end)) if end > start else b""

    def _read_text(self, handle: RepoHandle, entry: TreeEntry | None) -> str:
        data = self._read_bytes(handle, entry, MAX_JSON_FILE)
        return data.decode("utf-8", "replace") if data else ""

    def _read_json(self, handle: RepoHandle, entry: TreeEntry | None) -> dict | None:
        data = self._read_bytes(handle, entry, MAX_JSON_FILE)
        if not data:
            return None
        try:
            value = json.loads(data)
        except (ValueError, UnicodeDecodeError):
            return None
        return value if isinstance(value, dict) else None

    def _safetensors_summary(self, handle: RepoHandle, entries: list[TreeEntry]) -> dict | None:
        """Parameters per dtype over the safetensors files, from each file's counts (kept by
        content: see `ParameterCounts`). None when there are none, or when one file's are unknown
        (a header past the cap, not valid, or not readable): a partial total would be wrong, and
        the inference memory budget reads it."""
        per_file = []
        for entry in entries[:MAX_SAFETENSORS_FILES]:
            content_key = f"lfs:{entry.lfs.oid}" if entry.lfs is not None else f"git:{entry.oid}"
            counts = self.parameter_counts.of(
                content_key, entry.size, partial(self._read_range, handle, entry)
            )
            if counts is None:
                return None
            per_file.append(counts)
        return summarize_counts(per_file) if per_file else None

    # -- stored copy of the default branch ----------------------------------------------------

    def refresh(self, repo_row_id: int) -> RepoCard | None:
        """Re-derive and store the default branch's card (called after every change of main)."""
        with self.db.session() as session:
            row = session.get(Repository, repo_row_id)
        if row is None:
            return None
        handle = RepoHandle(row=row, store=self.git)
        commit = handle.git.ref_target("refs/heads/main")
        if commit is None:
            return None
        card = self.derive(handle, commit)
        html = self.render(handle, card.card_text, "main")
        with self.db.session() as session:
            # the index locks the repository row first: every writer of these rows takes that lock
            # before any other, so they queue instead of deadlocking
            self.index.replace(
                session,
                repo_row_id,
                card.tags,
                card.card_text,
                card.pipeline_tag,
                card.library_name,
                card.derived,
            )
            stored = session.get(RepoCard, repo_row_id) or RepoCard(repo_id=repo_row_id)
            stored.commit = commit
            stored.card_data = card.card_data
            stored.card_text = card.card_text
            stored.tags = card.tags
            stored.pipeline_tag = card.pipeline_tag
            stored.library_name = card.library_name
            stored.derived = card.derived
            stored.inference_off = inference_off(card.card_data)
            stored.weight_bytes = weight_bytes(card.derived)
            stored.card_html = html
            stored.renderer_version = RENDERER_VERSION if html is not None else None
            stored.updated_at = utcnow()
            session.merge(stored)
        return stored

    def on_ref_change(self, repo_row_id: int, ref: str, target: str | None) -> None:
        """Listener for RepoService: a new head of main means a new card. Never fails a write."""
        if ref != "refs/heads/main":
            return
        try:
            self.refresh(repo_row_id)
        except Exception:  # noqa: BLE001 - the commit has landed; `hubstead reindex` repairs this
            log.exception("could not derive the card of repository %s", repo_row_id)

    def stored(self, repo_row_id: int) -> RepoCard | None:
        with self.db.session() as session:
            return session.get(RepoCard, repo_row_id)

    def stored_many(self, repo_row_ids: list[int]) -> dict[int, ListedCard]:
        """The stored cards of a page of a listing, without their Markdown and rendered HTML:
        no list shows them, and they are most of a card's bytes (on PostgreSQL, most of what a
        listing reads). Plain rows, not ORM objects: building 50 mapped instances (their state,
        the identity map) was a quarter of a listing's time."""
        if not repo_row_ids:
            return {}
        statement = select(*_LISTED_COLUMNS).where(RepoCard.repo_id.in_(repo_row_ids))
        with self.db.engine.connect() as connection:
            rows = connection.execute(statement).all()
        return {row.repo_id: ListedCard._make(row) for row in rows}

    def for_commit(self, handle: RepoHandle, commit: str) -> DerivedCard:
        stored = self.stored(handle.row.id)
        if stored is not None and stored.commit == commit:
            return DerivedCard(
                commit,
                stored.card_data,
                stored.card_text,
                stored.tags,
                stored.pipeline_tag,
                stored.library_name,
                stored.derived,
            )
        return self.derive(handle, commit)

    def html(self, handle: RepoHandle) -> str | None:
        """The rendered card of main, re-rendered when the renderer changed since it was stored."""
        stored = self.stored(handle.row.id)
        if stored is None:
            stored = self.refresh(handle.row.id)
            if stored is None:
                return None
        if stored.renderer_version != RENDERER_VERSION:
            stored = self.refresh(handle.row.id)
        return stored.card_html

    def render(self, handle: RepoHandle, body: str, revision: str) -> str | None:
        resolve_prefix, blob_prefix = markdown_prefixes(self.paths, handle, revision)
        try:
            return render_card_html(body, resolve_prefix=resolve_prefix, blob_prefix=blob_prefix)
        except Exception:  # noqa: BLE001 - a card that cannot be rendered is shown as missing, not a 500
            log.exception("could not render the card of %s", handle.id)
            return None

    def preview(self, handle: RepoHandle, text: str, revision: str) -> CardPreview:
        """The editor's live preview: the same renderer (KaTeX, sanitizer, links to `revision`)
        as the card page, with the card's findings and checklist."""
        repo_type = handle.type.value
        return CardPreview(
            self.render(handle, card_layout(text).body, revision),
            lint_card(text, repo_type),
            check_completeness(text, repo_type),
        )

    def reindex(self, repo_row_ids: list[int] | None = None) -> int:
        with self.db.session() as session:
            ids = (
                repo_row_ids
                if repo_row_ids is not None
                else list(session.scalars(select(Repository.id).order_by(Repository.id)))
            )
        for repo_row_id in ids:
            self.refresh(repo_row_id)
        return len(ids)
