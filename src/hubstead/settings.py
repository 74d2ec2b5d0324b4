"""Configuration, read once from the environment (`HUBSTEAD_*`) and passed down explicitly.

Every CLI option of `hubstead serve` maps to one of these variables, which is also how the
settings reach the server's worker processes. This module is the only place that reads the
environment (test support in hubstead.testing aside):

- `Settings`: the server and the admin commands;
- `math_settings_from_env`: where the math renderer finds Node.js and KaTeX (installed into the
  renderer when this module is imported, read each time it starts a worker);
- `HookSettings`: what the git pre-receive hook, a process of its own, is told by the server
  (`hook_environment` builds that environment, `HookSettings.from_env` reads it back);
- `option_default`: the `HUBSTEAD_*` defaults of the admin commands' options.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import overload

from hubstead.domain.cards.loader import DEFAULT_MAX_METADATA_BYTES, MetadataLimits
from hubstead.domain.cards.loader import use_limits as use_metadata_limits
from hubstead.domain.client_address import BadProxyList, parse_networks
from hubstead.domain.inference.serving import ServingRules
from hubstead.domain.tags.safetensors_summary import DEFAULT_MAX_HEADER_BYTES
from hubstead.rendering.math import MathSettings
from hubstead.rendering.math import use_settings as use_math_settings

S3_DELIVERIES = ("redirect", "proxy")  # values of HUBSTEAD_S3_DELIVERY
DEFAULT_MAX_LFS_OBJECT_BYTES = 50 * 1000**3  # the Hub's largest LFS file: 50 GB
DEFAULT_MAX_LFS_PARTS = 10_000  # S3's limit, which the Hub's multipart uploads keep to
MAX_TOKEN_DAYS = 3650  # the longest expiry a token may have (a longer one: give it none)


@overload
def _env(name: str) -> str | None: ...
@overload
def _env(name: str, default: str) -> str: ...
def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(f"HUBSTEAD_{name}", default)


class SettingsError(ValueError):
    """A setting has a value Hubstead cannot use."""


@overload
def option_default(variable: str) -> str | None: ...
@overload
def option_default(variable: str, default: str) -> str: ...
def option_default(variable: str, default: str | None = None) -> str | None:
    """The default of a command-line option: its environment variable (`HUBSTEAD_EMAIL`, …)."""
    return os.environ.get(variable, default)


def export_options(values: dict[str, object]) -> None:
    """Options given on the command line become HUBSTEAD_* variables (None: not given), which is
    how the server's worker processes, started by granian, see them."""
    for name, value in values.items():
        if value is not None:
            os.environ[f"HUBSTEAD_{name}"] = str(value)


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str | None = None
    workers: int = 1  # from_env defaults to one per CPU
    # after SIGTERM, how long a worker may finish its requests in flight before it is killed
    shutdown_timeout: int = 60
    secret_key: str = field(default="", repr=False)
    signed_url_ttl: int = 3600
    lfs_multipart_threshold: int = 500 * 1024 * 1024
    lfs_multipart_chunk_size: int = 100 * 1024 * 1024
    max_lfs_object_bytes: int = DEFAULT_MAX_LFS_OBJECT_BYTES  # an LFS object's size, at most
    max_lfs_parts: int = DEFAULT_MAX_LFS_PARTS  # of a multipart upload (the part size grows)
    # the JSON header of a safetensors file read for its parameter counts (past it: unknown)
    max_safetensors_header_bytes: int = DEFAULT_MAX_HEADER_BYTES
    # where LFS objects and xorbs are kept: "" (the data folder's blobs) or s3://bucket/prefix
    storage_url: str = ""
    s3_endpoint_url: str | None = None  # a non-AWS S3 service (MinIO, R2, Ceph, moto)
    s3_delivery: str = "redirect"  # downloads: presigned redirects, or "proxy" through the hub
    # behind nginx: the internal location that serves the data folder's blobs (protocols/accel.py)
    accel_redirect: str | None = None
    quiet: bool = False  # the server logs warnings only
    token_cache_seconds: float = 5.0  # how long a process trusts a token or session it checked
    allow_signup: bool = False  # self sign-up at /join (a site admin may change it on /admin/users)
    pickle_scan_max_bytes: int = 256 * 1024 * 1024  # read of one pickle file by the scanner
    token_max_days: int | None = None  # the longest lifetime of a new token; None: no maximum
    # per process: file metadata of HEAD/GET /resolve (services/resolve_cache.py); 0: off
    resolve_cache_bytes: int = 32 * 1024 * 1024
    metrics: bool = True  # count requests for /-/metrics (off: the benchmark's comparison)
    # this server's metrics samples (memory-mapped: never on the data folder's disk, see cli)
    # proxies whose X-Forwarded-For is believed (domain/client_address.py); empty: none
    trusted_proxies: tuple[str, ...] = ()
    metrics_dir: Path = field(default_factory=lambda: default_metrics_dir(8000))
    inference: InferenceSettings = field(default_factory=lambda: InferenceSettings())
    jobs: bool = True  # `serve` runs background jobs (services/jobs.py) in a process of its own
    jobs_poll_seconds: float = 5.0  # how often an idle job runner looks for due jobs
    gc_grace_seconds: int = 24 * 3600  # what the periodic gc leaves alone (younger storage)

    @property
    def repos_dir(self) -> Path:
        return self.data_dir / "repos"

    @property
    def blobs_dir(self) -> Path:
        return self.data_dir / "blobs"

    @property
    def blob_store(self) -> str:
        """ "local" or "s3" (for messages and the CLI)."""
        return "s3" if self.storage_url else "local"

    @classmethod
    def from_env(cls) -> Settings:
        data_dir = Path(_env("DATA_DIR", "./hubstead-data")).resolve()
        database_url = _env("DATABASE_URL") or f"sqlite:///{data_dir / 'hubstead.db'}"
        return cls(
            data_dir=data_dir,
            database_url=database_url,
            host=_env("HOST", "127.0.0.1"),
            port=int(_env("PORT", "8000")),
            public_url=(_env("PUBLIC_URL") or None),
            workers=int(_env("WORKERS", str(os.cpu_count() or 1))),
            shutdown_timeout=_positive("SHUTDOWN_TIMEOUT", 60),
            secret_key=_env("SECRET_KEY") or _load_or_create_secret(data_dir),
            signed_url_ttl=int(_env("SIGNED_URL_TTL", "3600")),
            lfs_multipart_threshold=int(_env("LFS_MULTIPART_THRESHOLD", str(500 * 1024 * 1024))),
            lfs_multipart_chunk_size=int(_env("LFS_MULTIPART_CHUNK_SIZE", str(100 * 1024 * 1024))),
            max_lfs_object_bytes=_positive("MAX_LFS_OBJECT_BYTES", DEFAULT_MAX_LFS_OBJECT_BYTES),
            max_lfs_parts=_positive("MAX_LFS_PARTS", DEFAULT_MAX_LFS_PARTS),
            max_safetensors_header_bytes=_positive(
                "MAX_SAFETENSORS_HEADER_BYTES", DEFAULT_MAX_HEADER_BYTES
            ),
            storage_url=_storage_url(_env("STORAGE_URL"), _env("BLOB_STORE")),
            s3_endpoint_url=_env("S3_ENDPOINT_URL") or None,
            s3_delivery=_s3_delivery(_env("S3_DELIVERY") or "redirect"),
            accel_redirect=_accel_redirect(_env("ACCEL_REDIRECT", "")),
            quiet=bool(_env("QUIET")),
            token_cache_seconds=float(_env("TOKEN_CACHE_SECONDS", "5")),
            allow_signup=_env("ALLOW_SIGNUP", "0").lower() in ("1", "true", "yes", "on"),
            pickle_scan_max_bytes=int(_env("PICKLE_SCAN_MAX_BYTES", str(256 * 1024 * 1024))),
            token_max_days=_token_max_days(_env("TOKEN_MAX_DAYS", "")),
            resolve_cache_bytes=int(float(_env("RESOLVE_CACHE_MIB", "32")) * 1024 * 1024),
            metrics=_env("METRICS", "1").lower() not in ("0", "false", "no", "off"),
            trusted_proxies=_trusted_proxies(_env("TRUSTED_PROXIES", "")),
            metrics_dir=Path(_env("METRICS_DIR") or default_metrics_dir(int(_env("PORT", "8000")))),
            inference=InferenceSettings.from_env(),
            jobs=_env("JOBS", "1").lower() not in ("0", "false", "no", "off"),
            jobs_poll_seconds=float(_env("JOBS_POLL_SECONDS", "5")),
            gc_grace_seconds=int(_env("GC_GRACE_SECONDS", str(24 * 3600))),
        )


@dataclass(frozen=True)
class EngineRoute:
    """Models (a repository id or an fnmatch pattern such as `acme/llama-*`) whose inference
    an external OpenAI-compatible engine (vLLM, TGI, TEI, llama.cpp's server) answers."""

    pattern: str
    url: str  # the engine's base URL, without /v1
    model: str | None = None  # the model's name at the engine (default: the repository id)
    api_key: str | None = None  # sent as a bearer token to the engine


def _engine_routes(value: str) -> tuple[EngineRoute, ...]:
    """`HUBSTEAD_INFERENCE_ENGINES`: a JSON list of {"models", "url", "model"?, "api_key"?},
    or the path of a file holding one."""
    value = value.strip()
    if not value:
        return ()
    try:
        if not value.startswith("["):
            value = Path(value).read_text()
        items = json.loads(value)
    except (OSError, ValueError) as error:
        raise SettingsError(f"HUBSTEAD_INFERENCE_ENGINES is not a JSON list: {error}") from None
    routes = []
    for number, item in enumerate(items if isinstance(items, list) else [None]):
        if not isinstance(item, dict) or not isinstance(item.get("url"), str):
            raise SettingsError(
                f'HUBSTEAD_INFERENCE_ENGINES[{number}] must be an object with a "url"'
            )
        patterns = item.get("models", [])
        patterns = [patterns] if isinstance(patterns, str) else patterns
        if not patterns or not all(isinstance(p, str) and p for p in patterns):
            raise SettingsError(
                f"HUBSTEAD_INFERENCE_ENGINES[{number}].models must name models or patterns"
            )
        url = item["url"].rstrip("/").removesuffix("/v1")
        if not url.startswith(("http://", "https://")):
            raise SettingsError(f"HUBSTEAD_INFERENCE_ENGINES[{number}].url must be http(s)")
        for pattern in patterns:
            routes.append(EngineRoute(pattern, url, item.get("model"), item.get("api_key")))
    return tuple(routes)


@dataclass(frozen=True)
class InferenceSettings:
    """The inference API (docs/configuration.md): worker processes per web process, the memory
    their loaded models may take, how long a request may wait and run, input limits."""

    enabled: bool = True
    workers: int = 1
    memory_mb: int = 4096  # per worker: loaded models past it are evicted, least recent first
    threads: int = 0  # torch threads per worker (0: the CPUs but one, divided among the workers)
    queue_per_worker: int = 16  # waiting jobs a worker takes before the hub answers 503
    timeout: float = 120.0  # seconds a request may run (504 past it)
    wait_for_model: bool = False  # a cold model: wait instead of answering 503 + estimated_time
    max_body_mb: int = 20  # request bodies (images, audio, JSON)
    max_chars: int = 100_000  # characters of text per input
    allow_pickle: bool = False  # load .bin/.pt weights (a pickle runs code when loaded)
    rate_limit: int = 300  # requests per minute per token (0: no limit)
    anonymous_rate_limit: int = 60  # requests per minute per address without a token (0: none)
    daily_quota: int = 0  # requests per day (UTC) per token or address (0: no quota)
    engines: tuple[EngineRoute, ...] = ()  # external engines and the models they serve
    # set by `hubstead serve` for its web processes: the socket and key of the one process
    # that owns the inference workers (services/inference/host.py)
    host_socket: str | None = None
    host_key: str | None = field(default=None, repr=False)

    def host_environment(self, socket_path: str, key: str) -> dict[str, str]:
        """What `serve` tells its web processes so they use one inference host."""
        return {"HUBSTEAD_INFERENCE_HOST": socket_path, "HUBSTEAD_INFERENCE_HOST_KEY": key}

    def serving_rules(self) -> ServingRules:
        return ServingRules(
            self.enabled,
            self.allow_pickle,
            self.memory_mb * 1024 * 1024,
            tuple(route.pattern for route in self.engines),
        )

    @classmethod
    def from_env(cls) -> InferenceSettings:
        def flag(name: str, default: bool) -> bool:
            value = _env(name)
            return default if value is None else value.lower() in ("1", "true", "yes", "on")

        return cls(
            enabled=flag("INFERENCE", True),
            workers=int(_env("INFERENCE_WORKERS", "1")),
            memory_mb=int(_env("INFERENCE_MEMORY_MB", "4096")),
            threads=int(_env("INFERENCE_THREADS", "0")),
            queue_per_worker=int(_env("INFERENCE_QUEUE", "16")),
            timeout=float(_env("INFERENCE_TIMEOUT", "120")),
            wait_for_model=flag("INFERENCE_WAIT_FOR_MODEL", False),
            max_body_mb=int(_env("INFERENCE_MAX_BODY_MB", "20")),
            max_chars=int(_env("INFERENCE_MAX_CHARS", "100000")),
            allow_pickle=flag("INFERENCE_ALLOW_PICKLE", False),
            rate_limit=int(_env("INFERENCE_RATE_LIMIT", "300")),
            anonymous_rate_limit=int(_env("INFERENCE_ANONYMOUS_RATE_LIMIT", "60")),
            daily_quota=int(_env("INFERENCE_DAILY_QUOTA", "0")),
            engines=_engine_routes(_env("INFERENCE_ENGINES", "")),
            host_socket=_env("INFERENCE_HOST") or None,
            host_key=_env("INFERENCE_HOST_KEY") or None,
        )


def _trusted_proxies(value: str) -> tuple[str, ...]:
    """`HUBSTEAD_TRUSTED_PROXIES`: comma-separated addresses or networks (`127.0.0.1,10.0.0.0/8`)
    of the proxies in front of the hub, checked here so a typo stops the start."""
    entries = tuple(entry.strip() for entry in value.split(",") if entry.strip())
    try:
        parse_networks(entries)
    except BadProxyList as error:
        raise SettingsError(f"HUBSTEAD_TRUSTED_PROXIES: {error}") from None
    return entries


def _token_max_days(value: str) -> int | None:
    """`HUBSTEAD_TOKEN_MAX_DAYS`: unset or empty, tokens may never expire; else whole days."""
    value = value.strip()
    if not value:
        return None
    if not value.isdigit() or not 1 <= int(value) <= MAX_TOKEN_DAYS:
        raise SettingsError(
            f"HUBSTEAD_TOKEN_MAX_DAYS={value!r}: give a number of days from 1 to "
            f"{MAX_TOKEN_DAYS}, or nothing"
        )
    return int(value)


def _storage_url(url: str | None, retired_kind: str | None) -> str:
    """`HUBSTEAD_STORAGE_URL`: empty (or "local") for the data folder, else s3://bucket/prefix.
    `HUBSTEAD_BLOB_STORE`, which it replaces, is still accepted as "local" only."""
    if retired_kind not in (None, "", "local"):
        raise SettingsError(
            f"HUBSTEAD_BLOB_STORE={retired_kind!r} is not supported: HUBSTEAD_BLOB_STORE is "
            "retired, set HUBSTEAD_STORAGE_URL=s3://bucket/prefix for object storage"
        )
    url = (url or "").strip()
    if url in ("", "local"):
        return ""
    bucket = url[len("s3://") :].partition("/")[0] if url.startswith("s3://") else ""
    if not bucket:
        raise SettingsError(
            f"HUBSTEAD_STORAGE_URL={url!r}: give s3://bucket or s3://bucket/prefix "
            "(or nothing, for the data folder)"
        )
    return url


def _s3_delivery(value: str) -> str:
    if value not in S3_DELIVERIES:
        raise SettingsError(
            f"HUBSTEAD_S3_DELIVERY={value!r}: use one of {', '.join(S3_DELIVERIES)}"
        )
    return value


def _accel_redirect(value: str) -> str | None:
    """`HUBSTEAD_ACCEL_REDIRECT`: the path of nginx's internal location for the blobs folder
    (`/_hubstead/blobs/`), an absolute path that ends in a slash; empty: off."""
    value = value.strip()
    if not value:
        return None
    if not (value.startswith("/") and value.endswith("/")) or any(c in value for c in " ?#%"):
        raise SettingsError(
            f"HUBSTEAD_ACCEL_REDIRECT={value!r}: give the path of nginx's internal location "
            "for the blobs folder, starting and ending with a slash (/_hubstead/blobs/)"
        )
    return value


def math_settings_from_env() -> MathSettings:
    """Where the math renderer finds Node.js (`HUBSTEAD_NODE`) and KaTeX (`HUBSTEAD_NODE_MODULES`);
    read each time the renderer starts a worker, so a changed variable takes effect then."""
    modules = _env("NODE_MODULES")
    return MathSettings(node=_env("NODE") or None, node_modules=Path(modules) if modules else None)


# The renderer imports nothing of the project outside domain; it is told where to read from.
use_math_settings(math_settings_from_env)


def metadata_limits_from_env() -> MetadataLimits:
    """How much card metadata is parsed (`HUBSTEAD_MAX_METADATA_BYTES`); read at each parse, in
    the server and in the git hook alike, so both refuse the same cards."""
    return MetadataLimits(max_bytes=_positive("MAX_METADATA_BYTES", DEFAULT_MAX_METADATA_BYTES))


def _positive(name: str, default: int) -> int:
    """`HUBSTEAD_<name>`: a whole number of at least 1 (`_` allowed between digits), else the
    default when unset or empty."""
    value = (_env(name) or "").strip()
    if not value:
        return default
    digits = value.replace("_", "")
    if not digits.isdigit() or int(digits) < 1:
        raise SettingsError(f"HUBSTEAD_{name}={value!r}: give a whole number of at least 1")
    return int(digits)


# The card loader is in the domain, which reads no environment: it is told where to read from.
use_metadata_limits(metadata_limits_from_env)


@dataclass(frozen=True)
class HookSettings:
    """What the pre-receive hook needs, handed over by the server in the hook's environment.
    Without a repository row id (a hook run by hand) the LFS pointer check is skipped."""

    repo_type: str = "model"
    repo_row_id: int | None = None
    database_url: str | None = None
    storage_url: str = ""
    s3_endpoint_url: str | None = None
    blobs_dir: Path | None = None
    # the pusher's rights, decided by the server: may they update branches and tags, and which
    # open pull requests (refs/pr/N) may they push to (theirs; every one for a writer)
    may_write: bool = True
    pull_requests: frozenset[int] = frozenset()

    @classmethod
    def from_env(cls) -> HookSettings:
        row_id, blobs = _env("REPO_ROW_ID"), _env("BLOBS_DIR")
        return cls(
            repo_type=_env("REPO_TYPE") or "model",
            repo_row_id=int(row_id) if row_id else None,
            database_url=_env("DATABASE_URL") or None,
            storage_url=_storage_url(_env("STORAGE_URL"), _env("BLOB_STORE")),
            s3_endpoint_url=_env("S3_ENDPOINT_URL") or None,
            blobs_dir=Path(blobs) if blobs else None,
            may_write=_env("PUSH_MAY_WRITE") != "0",
            pull_requests=frozenset(int(n) for n in (_env("PUSH_PULL_REQUESTS") or "").split()),
        )


def hook_environment(
    settings: Settings,
    repo_type: str,
    repo_row_id: int,
    may_write: bool = True,
    pull_requests: Iterable[int] = (),
) -> dict[str, str]:
    """The environment of `git receive-pack` for a push: the server's own (git and the hook need
    PATH, HOME, …), the interpreter the hook script runs, and the HookSettings."""
    return {
        **os.environ,
        "HUBSTEAD_PYTHON": sys.executable,
        "HUBSTEAD_REPO_TYPE": repo_type,
        # the pre-receive hook checks pushed LFS pointers against this repository's objects
        "HUBSTEAD_REPO_ROW_ID": str(repo_row_id),
        "HUBSTEAD_DATABASE_URL": settings.database_url,
        "HUBSTEAD_STORAGE_URL": settings.storage_url,
        "HUBSTEAD_S3_ENDPOINT_URL": settings.s3_endpoint_url or "",
        "HUBSTEAD_BLOBS_DIR": str(settings.blobs_dir),
        "HUBSTEAD_PUSH_MAY_WRITE": "1" if may_write else "0",
        "HUBSTEAD_PUSH_PULL_REQUESTS": " ".join(str(num) for num in sorted(pull_requests)),
    }


def _load_or_create_secret(data_dir: Path) -> str:
    """A per-installation key for signed URLs, kept in the data dir so every worker shares it."""
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(key)
    os.chmod(tmp, 0o600)
    try:
        os.link(tmp, path)  # first writer wins; everyone reads the same key
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_text().strip()


METRICS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"  # prometheus_client's own name for it


def default_metrics_dir(port: int) -> Path:
    """A folder of this account and port on a RAM tmpfs (/dev/shm, else the temporary folder):
    one per server on a machine, away from the data folder's disk."""
    shm = Path("/dev/shm")
    base = shm if shm.is_dir() and os.access(shm, os.W_OK) else Path(tempfile.gettempdir())
    return base / f"hubstead-metrics-{os.geteuid()}-{port}"


def metrics_multiprocess_dir() -> str | None:
    """Where the server's processes write their metrics' samples (`hubstead serve` sets it
    for its workers; unset: each process keeps its own, as in tests)."""
    return os.environ.get(METRICS_DIR_VARIABLE) or None


def log_format() -> str:
    """`HUBSTEAD_LOG_FORMAT`: "text" (default) or "json" (one JSON object per line)."""
    value = _env("LOG_FORMAT") or "text"
    if value not in ("text", "json"):
        raise ValueError(f"HUBSTEAD_LOG_FORMAT must be text or json, not {value!r}")
    return value
