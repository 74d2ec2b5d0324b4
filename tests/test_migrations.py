"""The Alembic migrations build exactly the schema the models declare, on the test backend."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from conftest import BACKEND
from hubstead.storage.database import Database
from hubstead.storage.models import Base
from hubstead.testing import PostgresDatabase


def _include(obj, name, type_, reflected, compare_to) -> bool:
    # the id-order index: PostgreSQL reflects its expression in its own spelling, never equal to
    # the model's; test_listings_without_a_sort_walk_the_id_order_index checks it instead
    return not (name or "").startswith(
        ("search_fts", "ix_repo_search_documents_", "search_vector", "ix_repositories_type_full_id")
    )


# Neither backend's reflection compares expression indexes: the case-insensitive id index is
# checked by its definition below instead.
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
@pytest.mark.filterwarnings(
    "ignore:autogenerate skipping metadata-specified expression-based index"
)
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
            definition = connection.exec_driver_sql(
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_repositories_type_lower_id'"
                if postgres
                else "SELECT sql FROM sqlite_master WHERE name = 'ix_repositories_type_lower_id'"
            ).scalar()
        assert diff == []
        normalized = (
            definition.lower()
            .replace("(namespace)::text", "namespace")
            .replace("(name)::text", "name")
        )
        assert (
            "unique" in normalized
            and "lower(namespace)" in normalized
            and "lower(name)" in normalized
        )
    finally:
        db.dispose()
        if postgres:
            postgres.close()


def _upgrade(db: Database, revision: str) -> None:
    from alembic import command
    from alembic.config import Config

    from hubstead.storage.database import MIGRATIONS_DIR

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def test_0005_fills_counts_apps_and_parameters_from_stored_cards(tmp_path):
    """A hub upgraded in place gets exact facet counts, `apps=` rows and parameter counts."""
    import datetime as dt
    import json

    from sqlalchemy import text

    postgres = PostgresDatabase() if BACKEND == "postgresql" else None
    url = postgres.url if postgres else f"sqlite:///{tmp_path / 'upgrade.db'}"
    db = Database(url)
    now = dt.datetime.now(dt.UTC)
    try:
        _upgrade(db, "0004")
        with db.engine.begin() as connection:
            for repo_id, private, tags, pipeline, derived in (
                (1, False, ["gguf", "text-generation", "en"], "text-generation", {}),
                (
                    2,
                    True,
                    ["transformers", "text-generation", "en"],
                    "text-generation",
                    {"safetensors": {"total": 1234}},
                ),
                (3, False, ["transformers", "en"], "fill-mask", {}),
            ):
                connection.execute(
                    text(
                        "INSERT INTO repositories (id, storage_key, type, namespace, name, private, created_at, last_modified, "
                        "downloads, downloads_all_time, likes, trending_score, next_discussion_num) "
                        "VALUES (:id, :key, 'model', 'acme', :name, :private, :now, :now, 0, 0, 0, 0, 1)"
                    ),
                    {
                        "id": repo_id,
                        "key": f"k{repo_id}",
                        "name": f"m{repo_id}",
                        "private": private,
                        "now": now,
                    },
                )
                connection.execute(
                    text(
                        'INSERT INTO repo_cards (repo_id, "commit", card_data, card_text, tags, pipeline_tag, library_name, derived, updated_at) '
                        "VALUES (:id, :commit, '{}', '', :tags, :pipeline, NULL, :derived, :now)"
                    ),
                    {
                        "id": repo_id,
                        "pipeline": pipeline,
                        "commit": "0" * 40,
                        "tags": json.dumps(tags),
                        "derived": json.dumps(derived),
                        "now": now,
                    },
                )
                for tag in tags:
                    connection.execute(
                        text("INSERT INTO repo_tags (tag, repo_id) VALUES (:tag, :id)"),
                        {"tag": tag, "id": repo_id},
                    )
        db.migrate()
        with db.engine.connect() as connection:
            counts = {
                tag: (pub, priv)
                for tag, pub, priv in connection.execute(
                    text(
                        "SELECT tag, public_count, private_count FROM tag_counts WHERE repo_type = 'model'"
                    )
                )
            }
            apps = {
                (app, repo_id)
                for app, repo_id in connection.execute(text("SELECT app, repo_id FROM repo_apps"))
            }
            parameters = dict(
                connection.execute(text("SELECT id, num_parameters FROM repositories")).all()
            )
        assert counts == {
            "en": (2, 1),
            "text-generation": (1, 1),
            "transformers": (1, 1),
            "gguf": (1, 0),
        }
        assert (
            ("llama.cpp", 1) in apps
            and ("vllm", 2) in apps
            and not any(repo_id == 3 for _, repo_id in apps)
        )
        assert parameters == {1: None, 2: 1234, 3: None}
    finally:
        db.dispose()
        if postgres:
            postgres.close()


@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
@pytest.mark.parametrize("cursor", [False, True])
def test_listings_without_a_sort_walk_the_id_order_index(tmp_path, cursor):
    """Migration 0015's expression index is the very expression the `id` sort orders by, so the
    planner can walk it: planners match index expressions by their text, and with the slash sent
    as a parameter (SQLite; PostgreSQL's generic plans) or spelled otherwise, every such page
    would sort all the repositories of the type."""
    from starlette.datastructures import QueryParams

    from hubstead.domain.repo_ids import RepoType
    from hubstead.protocols.listing_query import list_query
    from hubstead.services.discovery import DiscoveryService, encode_cursor
    from hubstead.services.listing_index import ListingIndex

    postgres = PostgresDatabase() if BACKEND == "postgresql" else None
    url = postgres.url if postgres else f"sqlite:///{tmp_path / 'plan.db'}"
    db = Database(url)
    try:
        db.migrate()
        params = "limit=50" + (f"&cursor={encode_cursor(['org1/model-9', 9])}" if cursor else "")
        query = list_query(QueryParams(params), RepoType.MODEL)
        statement, sort, _ = DiscoveryService(db, ListingIndex(db)).page_statement(None, query)
        compiled = statement.compile(
            dialect=db.engine.dialect, compile_kwargs={"render_postcompile": True}
        )
        with db.engine.connect() as connection:
            if postgres:
                # an empty table is cheapest to sort: ask whether the index can serve the order
                connection.exec_driver_sql("SET enable_sort = off")
                connection.exec_driver_sql("SET enable_seqscan = off")
                plan = connection.exec_driver_sql(f"EXPLAIN {compiled}", compiled.params).all()
            else:
                parameters = tuple(compiled.params[name] for name in compiled.positiontup)
                plan = connection.exec_driver_sql(
                    f"EXPLAIN QUERY PLAN {compiled}", parameters
                ).all()
        text_plan = "\n".join(str(row[-1]) for row in plan)
        assert sort == "id"
        assert "ix_repositories_type_full_id" in text_plan
        assert "Sort" not in text_plan and "TEMP B-TREE" not in text_plan
    finally:
        db.dispose()
        if postgres:
            postgres.close()
