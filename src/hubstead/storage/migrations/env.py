"""Alembic environment: runs on the connection handed over by Database.migrate()."""

from alembic import context

from hubstead.storage.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        from sqlalchemy import create_engine

        engine = create_engine(config.get_main_option("sqlalchemy.url"))
        with engine.begin() as connection:
            _run(connection)
        return
    _run(connection)


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Full-text objects are created by hand in migrations 0004/0005 (FTS5 tables on SQLite; the
    `search_vector` column and its GIN index on PostgreSQL); the models don't describe them, so
    comparisons leave them alone."""
    return not (name or "").startswith(("search_fts", "ix_repo_search_documents_", "search_vector"))


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
