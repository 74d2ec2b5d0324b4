"""The Alembic migrations build exactly the schema the models declare, on the test backend."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from conftest import BACKEND
from hubstead.storage.database import Database
from hubstead.storage.models import Base
from hubstead.testing import PostgresDatabase


def _include(obj, name, type_, reflected, compare_to) -> bool:
    return not (name or "").startswith(("search_fts", "ix_repo_search_documents_tsv"))


def test_migrations_match_models(tmp_path):
    postgres = PostgresDatabase() if BACKEND == "postgresql" else None
    url = postgres.url if postgres else f"sqlite:///{tmp_path / 'schema.db'}"
    db = Database(url)
    try:
        db.migrate()
        db.migrate()  # idempotent
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"include_object": _include})
            diff = compare_metadata(context, Base.metadata)
        assert diff == []
    finally:
        db.dispose()
        if postgres:
            postgres.close()
