"""Configuration, read once from the environment (`HUBSTEAD_*`) and passed down explicitly.

Every CLI option of `hubstead serve` maps to one of these variables, which is also how the
settings reach the server's worker processes.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(f"HUBSTEAD_{name}", default)


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str | None = None
    workers: int = 1  # from_env defaults to one per CPU
    secret_key: str = field(default="", repr=False)
    signed_url_ttl: int = 3600
    lfs_multipart_threshold: int = 500 * 1024 * 1024
    lfs_multipart_chunk_size: int = 100 * 1024 * 1024

    @property
    def repos_dir(self) -> Path:
        return self.data_dir / "repos"

    @property
    def blobs_dir(self) -> Path:
        return self.data_dir / "blobs"

    @classmethod
    def from_env(cls) -> "Settings":
        data_dir = Path(_env("DATA_DIR", "./hubstead-data")).resolve()
        database_url = _env("DATABASE_URL") or f"sqlite:///{data_dir / 'hubstead.db'}"
        return cls(
            data_dir=data_dir,
            database_url=database_url,
            host=_env("HOST", "127.0.0.1"),
            port=int(_env("PORT", "8000")),
            public_url=(_env("PUBLIC_URL") or None),
            workers=int(_env("WORKERS", str(os.cpu_count() or 1))),
            secret_key=_env("SECRET_KEY") or _load_or_create_secret(data_dir),
            signed_url_ttl=int(_env("SIGNED_URL_TTL", "3600")),
            lfs_multipart_threshold=int(_env("LFS_MULTIPART_THRESHOLD", str(500 * 1024 * 1024))),
            lfs_multipart_chunk_size=int(_env("LFS_MULTIPART_CHUNK_SIZE", str(100 * 1024 * 1024))),
        )


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
