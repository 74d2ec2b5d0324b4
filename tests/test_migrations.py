"""The Alembic migrations build exactly the schema the models declare, on the test backend."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from conftest import BACKEND
from hubstead.storage.database import Database
from hubstead.storage.models import Base
from hubstead.testing import PostgresDatabase


def test_migrations_match_models(tmp_path):
    postgres = PostgresDatabase() if BACKEND == "postgresql" else None
    url = postgres.url if postgres else f"sqlite:///{tmp_path / 'schema.db'}"
    db = Database(url)
    try:
        db.migrate()
        db.migrate()  # idempotent
        with db.engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        assert diff == []
    finally:
        db.dispose()
        if postgres:
            postgres.close()
