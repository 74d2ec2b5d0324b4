"""Metadata tables (SQLAlchemy 2). Git holds the files and history; these hold everything else."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Account(Base):
    """A user or an organization: both own a namespace, so they share one table of names."""

    __tablename__ = "accounts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))  # "user" | "org"
    name: Mapped[str] = mapped_column(String(96), unique=True)
    fullname: Mapped[str] = mapped_column(String(256), default="")
    email: Mapped[str | None] = mapped_column(String(256), nullable=True)
    password_hash: Mapped[str | None] = mapped_column(String(256), nullable=True)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    avatar_url: Mapped[str | None] = mapped_column(String(512), nullable=True)
    # organizations only: repositories created without an explicit `private` are private
    default_private: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # users only: a disabled user cannot sign in and their tokens and sessions are refused
    disabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Membership(Base):
    __tablename__ = "memberships"
    org_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(8))  # "read" | "write" | "admin"


class AccessToken(Base):
    """An API token. Only its SHA-256 is stored: a leaked database does not leak tokens."""

    __tablename__ = "access_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(8))  # "read" | "write"
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # written at most once a minute per token (services/accounts.authenticate)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # when the token stops working; None: never (services/accounts.create_token)
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Repository(Base):
    """A repository's identity and settings. Its files live in the bare git repo `storage_key`,
    so renaming a repository never moves data on disk."""

    __tablename__ = "repositories"
    __table_args__ = (
        UniqueConstraint("type", "namespace", "name", name="uq_repositories_type_namespace_name"),
        # ids are matched case-insensitively, as on the Hub: `Alice/My-Model` is `alice/my-model`
        Index(
            "ix_repositories_type_lower_id",
            "type",
            func.lower(text("namespace")),
            func.lower(text("name")),
            unique=True,
        ),
        # listings sort by one counter within a type, with the id as tie-breaker for stable pages
        Index("ix_repositories_type_downloads", "type", "downloads", "id"),
        Index("ix_repositories_type_likes", "type", "likes", "id"),
        Index("ix_repositories_type_last_modified", "type", "last_modified", "id"),
        Index("ix_repositories_type_created_at", "type", "created_at", "id"),
        Index("ix_repositories_type_trending", "type", "trending_score", "id"),
        # listings without a sort: ordered by the full id (migration 0015)
        Index("ix_repositories_type_full_id", "type", text("(namespace || '/' || name)"), "id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    storage_key: Mapped[str] = mapped_column(String(32), unique=True)
    type: Mapped[str] = mapped_column(String(16))
    namespace: Mapped[str] = mapped_column(String(96), index=True)
    name: Mapped[str] = mapped_column(String(96))
    private: Mapped[bool] = mapped_column(Boolean, default=False)
    gated: Mapped[str | None] = mapped_column(String(16), nullable=True)  # None | "auto" | "manual"
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_modified: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    head_sha: Mapped[str | None] = mapped_column(String(40), nullable=True)
    downloads: Mapped[int] = mapped_column(BigInteger, default=0)  # the last 30 days
    downloads_all_time: Mapped[int] = mapped_column(BigInteger, default=0)
    likes: Mapped[int] = mapped_column(Integer, default=0)
    trending_score: Mapped[float] = mapped_column(Float, default=0.0)
    # total parameters of the default branch's weights (safetensors headers), for `num_parameters=`
    num_parameters: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    next_discussion_num: Mapped[int] = mapped_column(Integer, default=1)


class RepoRedirect(Base):
    """An old name of a moved repository, so that old URLs keep working."""

    __tablename__ = "repo_redirects"
    __table_args__ = (
        UniqueConstraint("type", "namespace", "name", name="uq_repo_redirects_type_namespace_name"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    type: Mapped[str] = mapped_column(String(16))
    namespace: Mapped[str] = mapped_column(String(96))
    name: Mapped[str] = mapped_column(String(96))
    repo_id: Mapped[int] = mapped_column(
        ForeignKey("repositories.id", ondelete="CASCADE"), index=True
    )


class RepoRef(Base):
    """Cache of a repository's refs (git is the authority); refreshed after every ref update."""

    __tablename__ = "repo_refs"
    repo_id: Mapped[int] = mapped_column(
        ForeignKey("repositories.id", ondelete="CASCADE"), primary_key=True
    )
    ref: Mapped[str] = mapped_column(String(255), primary_key=True)
    target: Mapped[str] = mapped_column(String(40))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class LfsObject(Base):
    """A large file known by its SHA-256: its bytes are in the blob store (uploaded through LFS),
    or in Xet xorbs (`xet_hash` names the Xet file that reconstructs them), or both."""

    __tablename__ = "lfs_objects"
    oid: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    xet_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class RepoLfsObject(Base):
    """Which repository received which LFS object. A commit may only reference objects uploaded to
    its own repository, so knowing a hash never grants access to another repository's bytes."""

    __tablename__ = "repo_lfs_objects"
    repo_id: Mapped[int] = mapped_column(
        ForeignKey("repositories.id", ondelete="CASCADE"), primary_key=True
    )
    # indexed alone too: global deduplication walks from an object to the repositories holding it
    oid: Mapped[str] = mapped_column(ForeignKey("lfs_objects.oid"), primary_key=True, index=True)
    pushed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Discussion(Base):
    """A discussion or pull request; a pull request's commits live on `refs/pr/{num}`."""

    __tablename__ = "discussions"
    __table_args__ = (UniqueConstraint("repo_id", "num", name="uq_discussions_repo_id_num"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    repo_id: Mapped[int] = mapped_column(
        ForeignKey("repositories.id", ondelete="CASCADE"), index=True
    )
    num: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(512))
    description: Mapped[str] = mapped_column(Text, default="")
    is_pull_request: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="open")
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), nullable=True
    )
    merge_commit: Mapped[str | None] = mapped_column(String(40), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class DiscussionEvent(Base):
    """One event of a discussion's timeline: a comment (the opening one included), a status or
    title change, a commit pushed to a pull request's ref. Comments keep their latest text and
    how often it was edited; a hidden comment keeps its text for the record but is not shown."""

    __tablename__ = "discussion_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    discussion_id: Mapped[int] = mapped_column(
        ForeignKey("discussions.id", ondelete="CASCADE"), index=True
    )
    type: Mapped[str] = mapped_column(String(32))  # comment | status-change | title-change | commit
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    content: Mapped[str] = mapped_column(Text, default="")  # a comment's latest raw Markdown
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    num_edits: Mapped[int] = mapped_column(Integer, default=0)
    edited_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    data: Mapped[dict] = mapped_column(JSON, default=dict)  # status / from, to / oid, subject


class AccessRequest(Base):
    """A user's request for access to a gated repository, and the owner's answer."""

    __tablename__ = "access_requests"
    repo_id: Mapped[int] = mapped_column(
        ForeignKey("repositories.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    status: Mapped[str] = mapped_column(String(16))  # pending | accepted | rejected
    fields: Mapped[dict | None] = mapped_column(JSON, nullable=True)  # answers to the access form
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class XetXorb(Base):
    """A verified xorb (a container of compressed chunks); its bytes are in the blob store."""

    __tablename__ = "xet_xorbs"
    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    serialized_size: Mapped[int] = mapped_column(BigInteger)
    unpacked_size: Mapped[int] = mapped_column(BigInteger)
    num_chunks: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class XetChunk(Base):
    """One chunk of a xorb, recorded when the xorb was parsed: shards are verified against these
    and reconstructions point at `serialized_start`..`serialized_end` (the shard doesn't say)."""

    __tablename__ = "xet_chunks"
    xorb_hash: Mapped[str] = mapped_column(
        ForeignKey("xet_xorbs.hash", ondelete="CASCADE"), primary_key=True
    )
    index: Mapped[int] = mapped_column(Integer, primary_key=True)
    chunk_hash: Mapped[str] = mapped_column(String(64), index=True)  # for global deduplication
    unpacked_size: Mapped[int] = mapped_column(Integer)
    serialized_start: Mapped[int] = mapped_column(BigInteger)
    serialized_end: Mapped[int] = mapped_column(BigInteger)


class XetXorbRepo(Base):
    """Which repository's Xet write token uploaded a xorb. A shard may reference a xorb only if
    its own repository uploaded it or the uploader may deduplicate against it, so a shard (or a
    xorb upload's `was_inserted`) never tells whether someone else stored those chunks."""

    __tablename__ = "xet_xorb_repos"
    xorb_hash: Mapped[str] = mapped_column(
        ForeignKey("xet_xorbs.hash", ondelete="CASCADE"), primary_key=True
    )
    repo_id: Mapped[int] = mapped_column(
        ForeignKey("repositories.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class XetFile(Base):
    """A file registered by a shard: its Xet hash, size and SHA-256."""

    __tablename__ = "xet_files"
    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class XetFileTerm(Base):
    """The terms that rebuild a file, in order: chunks [chunk_start, chunk_end) of a xorb."""

    __tablename__ = "xet_file_terms"
    file_hash: Mapped[str] = mapped_column(
        ForeignKey("xet_files.hash", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    xorb_hash: Mapped[str] = mapped_column(ForeignKey("xet_xorbs.hash"), index=True)
    chunk_start: Mapped[int] = mapped_column(Integer)
    chunk_end: Mapped[int] = mapped_column(Integer)
    unpacked_size: Mapped[int] = mapped_column(BigInteger)


class RepoCard(Base):
    """What the hub derives from a repository's default branch: card metadata, tags, pipeline,
    rendered card… Recomputed after every change of `main` (and by `hubstead reindex`), so that
    listings and search read it instead of opening git."""

    __tablename__ = "repo_cards"
    # (pipeline_tag, repo_id): a `pipeline_tag=` filter or count reads the index alone
    __table_args__ = (Index("ix_repo_cards_pipeline_tag_repo_id", "pipeline_tag", "repo_id"),)
    repo_id: Mapped[int] = mapped_column(
        ForeignKey("repositories.id", ondelete="CASCADE"), primary_key=True
    )
    commit: Mapped[str] = mapped_column(String(40))
    card_data: Mapped[dict] = mapped_column(JSON, default=dict)
    card_text: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[list] = mapped_column(JSON, default=list)
    pipeline_tag: Mapped[str | None] = mapped_column(String(64), nullable=True)
    library_name: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    derived: Mapped[dict] = mapped_column(
        JSON, default=dict
    )  # transformersInfo, config, safetensors, widgetData, …
    card_html: Mapped[str | None] = mapped_column(Text, nullable=True)
    # for `inference=warm` listings (domain.inference.serving, in SQL): the card's
    # `inference: false`, and the weights' size from the safetensors parameter counts
    inference_off: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    weight_bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    renderer_version: Mapped[str | None] = mapped_column(String(32), nullable=True)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class RepoTag(Base):
    """One tag of a repository's default branch, for filtering: a filter on N tags is N index
    lookups on (tag, repo_id)."""

    __tablename__ = "repo_tags"
    tag: Mapped[str] = mapped_column(String(255), primary_key=True)
    repo_id: Mapped[int] = mapped_column(
        ForeignKey("repositories.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class RepoApp(Base):
    """One local application able to run a repository's default branch (`apps=` filter)."""

    __tablename__ = "repo_apps"
    app: Mapped[str] = mapped_column(String(64), primary_key=True)
    repo_id: Mapped[int] = mapped_column(
        ForeignKey("repositories.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class TagCount(Base):
    """How many repositories of a type carry a tag, public and private apart: the facet
    counts read these rows instead of counting `repo_tags`. Kept exact by ListingIndex, in the
    same transaction as every change of a repository's tags, visibility or existence."""

    __tablename__ = "tag_counts"
    repo_type: Mapped[str] = mapped_column(String(16), primary_key=True)
    tag: Mapped[str] = mapped_column(String(255), primary_key=True)
    public_count: Mapped[int] = mapped_column(Integer, default=0)
    private_count: Mapped[int] = mapped_column(Integer, default=0)


class RepoCount(Base):
    """How many repositories of a type exist, public and private apart: the lists' and the home
    page's totals read this row instead of counting `repositories` on every request. Kept exact
    by ListingIndex in the transaction that creates, deletes or flips a repository."""

    __tablename__ = "repo_counts"
    repo_type: Mapped[str] = mapped_column(String(16), primary_key=True)
    public_count: Mapped[int] = mapped_column(Integer, default=0)
    private_count: Mapped[int] = mapped_column(Integer, default=0)


class RepoSearchDocument(Base):
    """The text full-text search indexes for a repository (its id and its card text)."""

    __tablename__ = "repo_search_documents"
    repo_id: Mapped[int] = mapped_column(
        ForeignKey("repositories.id", ondelete="CASCADE"), primary_key=True
    )
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")


class RepoLike(Base):
    __tablename__ = "repo_likes"
    user_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    repo_id: Mapped[int] = mapped_column(
        ForeignKey("repositories.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class RepoDownloadDay(Base):
    """Downloads of one repository on one day (UTC): the 30-day counter and trending derive from these."""

    __tablename__ = "repo_download_days"
    repo_id: Mapped[int] = mapped_column(
        ForeignKey("repositories.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger, default=0)


class RateWindow(Base):
    """Requests one caller made in one fixed window (a minute, a day) against one limit.

    Kept in the database, not in a process, so every `hubstead serve` process sharing it counts
    against the same limit; old windows are deleted as new ones start."""

    __tablename__ = "rate_windows"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)  # "<limit>:<caller>"
    window_start: Mapped[int] = mapped_column(BigInteger, primary_key=True, index=True)  # epoch s
    hits: Mapped[int] = mapped_column(Integer, default=0)


class InferenceUsage(Base):
    """Inference a caller ran on one model on one day (UTC): what `GET /api/inference/usage`
    shows. The caller is a token ("token:<id>"), a password login ("user:<id>") or an anonymous
    address ("addr:<ip>"); the user is kept for the first two."""

    __tablename__ = "inference_usage"
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    caller: Mapped[str] = mapped_column(String(80), primary_key=True)
    repo_id: Mapped[int] = mapped_column(
        ForeignKey("repositories.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True, nullable=True
    )
    token_name: Mapped[str | None] = mapped_column(String(128), nullable=True)
    requests: Mapped[int] = mapped_column(BigInteger, default=0)
    failures: Mapped[int] = mapped_column(BigInteger, default=0)
    input_units: Mapped[int] = mapped_column(BigInteger, default=0)  # prompt tokens, or inputs
    output_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    compute_ms: Mapped[int] = mapped_column(BigInteger, default=0)


class WebSession(Base):
    """A browser's signed-in session. Only the SHA-256 of its id is stored, as for tokens; the
    cookie carries the id, signed with the hub's secret key."""

    __tablename__ = "web_sessions"
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)


class SiteSetting(Base):
    """A setting the site admin changes from the web UI (whether self sign-up is open); without
    a row, the operator's environment setting holds."""

    __tablename__ = "site_settings"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[object] = mapped_column(JSON)


class PickleScan(Base):
    """What the pickle scanner found in one file's bytes, by content: the LFS SHA-256, or the git
    blob id of a file kept in git. The same bytes give the same verdict in every repository, so
    a file is scanned once however many repositories hold it."""

    __tablename__ = "pickle_scans"
    oid: Mapped[str] = mapped_column(String(64), primary_key=True)
    scanner: Mapped[str] = mapped_column(String(64))  # "picklescan 1.0.5"
    level: Mapped[str] = mapped_column(String(16))  # "safe" | "caution" | "unsafe"
    # [{"module", "name", "safety": "innocuous" | "suspicious" | "dangerous"}], sorted
    imports: Mapped[list] = mapped_column(JSON, default=list)
    message: Mapped[str | None] = mapped_column(Text, nullable=True)  # why a scan is incomplete
    scanned_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AuditEvent(Base):
    """One security-relevant action (a sign-in, a token made or revoked, a visibility, gate,
    member or role change, a deletion, an access grant): who, what, on what, from where. Rows
    are only ever added, in the transaction of the action itself, so the log cannot miss a
    change that happened nor hold one that did not."""

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    # the account that acted (None: an anonymous attempt, or an operator at the command line);
    # the name is kept as it was, so the log still reads after a rename or a deletion
    actor_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    actor: Mapped[str] = mapped_column(String(96), default="")
    action: Mapped[str] = mapped_column(String(48), index=True)  # "token.create", "repo.delete"
    target: Mapped[str] = mapped_column(String(300), default="", index=True)
    address: Mapped[str | None] = mapped_column(String(64), nullable=True)
    details: Mapped[dict] = mapped_column(JSON, default=dict)


class Job(Base):
    """One piece of background work (storage/jobs.py claims, completes and retries it).

    `run_at` is when the job is next due: for a pending job its scheduled time (after a
    failure, the end of its backoff), for a running one the end of its lease, which the runner
    extends while the job runs; past it the runner is taken for dead and the job is claimed
    again. So one index on (state, run_at) finds both kinds of work. `attempts` counts claims
    and is the claim's token: completing or extending a job checks it, so a runner whose lease
    was taken over cannot finish another runner's attempt. `key` (unique, optional) makes an
    enqueue idempotent: one job per periodic slot (`periodic:gc:2026-12-01T00:00`), or one per
    event a service names."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_state_run_at", "state", "run_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))  # "counters.rollup", "gc", …
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    key: Mapped[str | None] = mapped_column(String(200), nullable=True, unique=True)
    state: Mapped[str] = mapped_column(String(16), default="pending")  # running, done, failed
    run_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=5)
    locked_by: Mapped[str | None] = mapped_column(String(128), nullable=True)  # host:pid
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True, index=True
    )
