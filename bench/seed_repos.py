"""Seed a hub database with many repositories with realistic metadata, for discovery benchmarks.

Listings, facets and search read only the database (the tags of each repository's default
branch, its counters, its card text), so this writes those rows in bulk with the same models
and the same indexing rules as the card service (`listing_index.index_rows`, `compatible_apps`), then
recounts the per-tag counters once (`ListingIndex.rebuild_counts`), without creating a
git repository per entry. Distributions are skewed like the Hub's: a few tasks, libraries,
licenses and languages dominate, and downloads and likes follow a long tail.

On PostgreSQL the rows go in with COPY (see `seed`). `kept_database` keeps a seeded database
per size and seed version and reuses it, so a 1,000,000-repository benchmark seeds once.

Usage: python bench/seed_repos.py [--database-url URL] [--count 100000] [--reseed]
(without --database-url: the kept PostgreSQL database of that size; used by bench_discovery)
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import time
import uuid

from sqlalchemy import func, insert, select, text

from hubstead.domain.tags.local_apps import compatible_apps
from hubstead.services.listing_index import ListingIndex, index_rows
from hubstead.storage.database import Database
from hubstead.storage.models import (
    Account,
    RepoApp,
    RepoCard,
    RepoSearchDocument,
    Repository,
    RepoTag,
)

TASKS = [
    ("text-generation", 30),
    ("text-classification", 10),
    ("text-to-image", 8),
    ("automatic-speech-recognition", 5),
    ("token-classification", 5),
    ("feature-extraction", 5),
    ("sentence-similarity", 5),
    ("image-classification", 5),
    ("fill-mask", 4),
    ("translation", 3),
    ("summarization", 3),
    ("question-answering", 3),
    ("image-text-to-text", 3),
    ("text-to-speech", 2),
    ("object-detection", 2),
    ("reinforcement-learning", 2),
    ("image-segmentation", 1),
    ("zero-shot-classification", 1),
    ("depth-estimation", 1),
    ("audio-classification", 1),
]
LIBRARIES = [
    ("transformers", 55),
    ("diffusers", 8),
    ("sentence-transformers", 6),
    ("gguf", 8),
    ("peft", 6),
    ("timm", 3),
    ("stable-baselines3", 2),
    ("onnx", 2),
    ("mlx", 2),
    ("keras", 2),
    ("nemo", 1),
    ("espnet", 1),
    ("fastai", 1),
]
LICENSES = [
    ("apache-2.0", 35),
    ("mit", 20),
    ("other", 10),
    ("cc-by-4.0", 6),
    ("openrail", 5),
    ("llama3.1", 4),
    ("cc-by-nc-4.0", 5),
    ("gpl-3.0", 2),
    ("bsd-3-clause", 2),
    ("afl-3.0", 1),
    ("creativeml-openrail-m", 3),
]
LANGUAGES = [
    ("en", 50),
    ("zh", 6),
    ("fr", 5),
    ("de", 5),
    ("es", 5),
    ("ru", 3),
    ("ja", 3),
    ("ko", 2),
    ("ar", 2),
    ("hi", 2),
    ("pt", 2),
    ("it", 2),
    ("multilingual", 3),
    ("vi", 1),
    ("tr", 1),
    ("pl", 1),
    ("nl", 1),
]
FORMATS = [
    ("safetensors", 60),
    ("pytorch", 40),
    ("onnx", 6),
    ("tensorboard", 8),
    ("jax", 3),
    ("tf", 5),
]
OTHER = [
    ("conversational", 10),
    ("custom_code", 4),
    ("merge", 2),
    ("lora", 5),
    ("medical", 1),
    ("finance", 1),
    ("code", 2),
    ("chemistry", 0.5),
    ("legal", 0.5),
    ("not-for-all-audiences", 1),
]
WORDS = (
    "model trained fine tuned dataset reviews sentiment translation summarization speech audio image vision "
    "embedding retrieval chat instruction llama mistral bert roberta whisper diffusion stable quantized gguf "
    "medical legal finance code python multilingual english french german chinese japanese benchmark accuracy "
    "evaluation latency small large base instruct adapter lora merge distilled efficient robust"
).split()


FILLER = [f"w{i:04d}" for i in range(5000)]


def pick(rng: random.Random, table: list[tuple[str, float]]) -> str:
    return rng.choices([v for v, _ in table], weights=[w for _, w in table])[0]


def synthetic(rng: random.Random, index: int, datasets: list[str]) -> dict:
    task, library = pick(rng, TASKS), pick(rng, LIBRARIES)
    languages = sorted({pick(rng, LANGUAGES) for _ in range(rng.choice([0, 1, 1, 1, 2, 3]))})
    license_ = pick(rng, LICENSES)
    used = sorted(
        {
            datasets[min(int(rng.paretovariate(1.2)) - 1, len(datasets) - 1)]
            for _ in range(rng.choice([0, 0, 1, 1, 2]))
        }
    )
    formats = sorted({pick(rng, FORMATS) for _ in range(rng.choice([1, 1, 2]))})
    extra = sorted({pick(rng, OTHER) for _ in range(rng.choice([0, 0, 1, 2]))})
    tags = [
        library,
        *formats,
        task,
        *extra,
        *languages,
        *(f"dataset:{d}" for d in used),
        f"license:{license_}",
        "region:us",
    ]
    # a few topic words in a body of common words (Zipf-like over a 5,000-word vocabulary)
    topic = [rng.choice(WORDS) for _ in range(rng.randint(2, 6))]
    filler = [
        FILLER[min(int(rng.paretovariate(0.8)) - 1, len(FILLER) - 1)]
        for _ in range(rng.randint(20, 200))
    ]
    body = " ".join(topic + filler)
    downloads = int(rng.paretovariate(0.9)) - 1
    # parameter counts from ~5M to ~100B, log-uniform-ish, for repositories with safetensors weights
    parameters = int(10 ** rng.uniform(6.7, 11)) if "safetensors" in formats else None
    return {
        "name": f"model-{index}-{rng.choice(WORDS)}",
        "tags": list(dict.fromkeys(tags)),
        "pipeline_tag": task,
        "library": library,
        "card": {
            "license": license_,
            "language": languages,
            "datasets": used,
            "pipeline_tag": task,
            "library_name": library,
        },
        "text": f"# {task} model\n\n{body}\n",
        "downloads": downloads,
        "likes": int(rng.paretovariate(1.3)) - 1,
        "num_parameters": parameters,
    }


SEED_VERSION = 2  # bump when what `synthetic` produces changes: reused databases are reseeded
# the tables a seed fills, in the order their foreign keys need
TABLES = ("repositories", "repo_cards", "repo_tags", "repo_apps", "repo_search_documents")


def batches(count: int, first_id: int, namespaces: list[str], seed_value: int, batch: int):
    """The rows of `count` repositories, `batch` at a time: {table: [row dict, ...]}. Ids are
    given here (from `first_id`), so the same rows can go through COPY or INSERT."""
    rng = random.Random(seed_value)
    datasets = [f"{rng.choice(namespaces)}/data-{i}" for i in range(2000)]
    now = dt.datetime.now(dt.UTC)
    for first in range(0, count, batch):
        out: dict[str, list[dict]] = {table: [] for table in TABLES}
        for index in range(first, min(first + batch, count)):
            spec = synthetic(rng, index, datasets)
            repo_id = first_id + index
            created = now - dt.timedelta(minutes=count - index)
            row = {
                "id": repo_id,
                "storage_key": uuid.UUID(int=rng.getrandbits(128)).hex,
                "type": "model",
                "namespace": namespaces[index % len(namespaces)],
                "name": spec["name"],
                "private": index % 50 == 0,
                "gated": "auto" if index % 40 == 0 else None,
                "created_at": created,
                "last_modified": created + dt.timedelta(minutes=rng.randint(0, 10_000)),
                "downloads": spec["downloads"],
                "downloads_all_time": spec["downloads"] * 3,
                "likes": spec["likes"],
                "trending_score": float(spec["downloads"] % 997 + spec["likes"] * 10),
                "next_discussion_num": 1,
                "num_parameters": spec["num_parameters"],
            }
            out["repositories"].append(row)
            out["repo_cards"].append(
                {
                    "repo_id": repo_id,
                    "commit": "0" * 40,
                    "card_data": spec["card"],
                    "card_text": spec["text"],
                    "tags": spec["tags"],
                    "pipeline_tag": spec["pipeline_tag"],
                    "library_name": spec["library"],
                    "derived": {"safetensors": {"total": spec["num_parameters"]}}
                    if spec["num_parameters"]
                    else {},
                    "updated_at": now,
                }
            )
            tags, document = index_rows(
                repo_id, row["namespace"], row["name"], spec["tags"], spec["text"]
            )
            out["repo_tags"] += tags
            out["repo_search_documents"].append(document)
            out["repo_apps"] += [
                {"app": app, "repo_id": repo_id}
                for app in compatible_apps(spec["tags"], spec["pipeline_tag"], spec["library"], {})
            ]
        yield out


def seed(database_url: str, count: int, seed_value: int = 0, batch: int = 5000) -> float:
    """Insert `count` public model repositories under 500 namespaces; returns the seconds taken.

    SQLite: batched INSERTs. PostgreSQL: COPY (psycopg), with the secondary indexes of the
    seeded tables dropped during the load and built again after it (as `pg_restore` does:
    building an index once is several times cheaper than updating it row by row)."""
    db = Database(database_url)
    db.migrate()
    start = time.perf_counter()
    namespaces = [f"org{i}" for i in range(500)]
    now = dt.datetime.now(dt.UTC)
    with db.session() as session:
        existing = set(session.scalars(select(Account.name)))
        session.execute(
            insert(Account),
            [
                {"kind": "org", "name": n, "fullname": n, "is_admin": False, "created_at": now}
                for n in namespaces
                if n not in existing
            ]
            or [
                {
                    "kind": "org",
                    "name": f"seed-{uuid.uuid4().hex[:6]}",
                    "fullname": "",
                    "is_admin": False,
                    "created_at": now,
                }
            ],
        )
        first_id = (session.scalar(select(func.max(Repository.id))) or 0) + 1
    rows = batches(count, first_id, namespaces, seed_value, batch)
    if db.is_sqlite:
        _insert(db, rows)
    else:
        _copy(db, rows)
    ListingIndex(db).rebuild_counts()
    # What autovacuum does to a live hub within a minute of a bulk load: fresh statistics and,
    # on PostgreSQL, the visibility map (index-only scans need it; insert-triggered vacuum sets it)
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("ANALYZE" if db.is_sqlite else "VACUUM ANALYZE"))
    seconds = time.perf_counter() - start
    db.dispose()
    return seconds


MODELS = {
    "repositories": Repository,
    "repo_cards": RepoCard,
    "repo_tags": RepoTag,
    "repo_apps": RepoApp,
    "repo_search_documents": RepoSearchDocument,
}


def _insert(db: Database, rows) -> None:
    for tables in rows:
        with db.session() as session:
            for table in TABLES:
                if tables[table]:
                    session.execute(insert(MODELS[table]), tables[table])


def _copy(db: Database, rows) -> None:
    """COPY each batch into the tables, their secondary indexes set aside until the end."""
    with db.engine.connect() as connection:
        raw = connection.connection.dbapi_connection
        with raw.cursor() as cursor:
            cursor.execute("SET maintenance_work_mem = '512MB'")
            # the rows are consistent by construction: skip the per-row foreign-key triggers
            # (about a third of the load's time); needs a superuser, as bench databases have
            cursor.execute("SET session_replication_role = replica")
            cursor.execute(
                "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i "
                "JOIN pg_class c ON c.oid = i.indexrelid "
                "WHERE i.indrelid = ANY(%s::regclass[]) "
                "AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)",
                (list(TABLES),),
            )
            indexes = cursor.fetchall()
            for name, _ in indexes:
                cursor.execute(f'DROP INDEX "{name}"')
            raw.commit()
            for tables in rows:
                for table in TABLES:
                    if not tables[table]:
                        continue
                    columns = list(tables[table][0])
                    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                        for row in tables[table]:
                            copy.write_row([_copy_value(row[c]) for c in columns])
                raw.commit()
            for _, definition in indexes:
                cursor.execute(definition)
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('repositories', 'id'), "
                "(SELECT max(id) FROM repositories))"
            )
            raw.commit()


def _copy_value(value: object) -> object:
    """JSON columns take their text; everything else psycopg adapts."""
    return json.dumps(value) if isinstance(value, dict | list) else value


def seeded(database_url: str) -> tuple[int, int] | None:
    """(seed version, repositories) of a database this module seeded and finished, else None."""
    db = Database(database_url)
    try:
        with db.engine.connect() as connection:
            row = connection.execute(text("SELECT version, count FROM bench_seed")).first()
        return (int(row[0]), int(row[1])) if row is not None else None
    except Exception:  # no such table (or no such database): not seeded
        return None
    finally:
        db.dispose()


def mark_seeded(database_url: str, count: int, seconds: float) -> None:
    """Record that the seed finished, so the next run can reuse this database."""
    db = Database(database_url)
    with db.session() as session:
        session.execute(
            text("CREATE TABLE IF NOT EXISTS bench_seed (version int, count int, seconds float)")
        )
        session.execute(text("DELETE FROM bench_seed"))
        session.execute(
            text("INSERT INTO bench_seed VALUES (:v, :c, :s)"),
            {"v": SEED_VERSION, "c": count, "s": seconds},
        )
    db.dispose()


POSTGRES_SERVER = "postgresql://postgres@127.0.0.1:5432"


def kept_database(
    count: int, server: str = POSTGRES_SERVER, reseed: bool = False
) -> tuple[str, float | None]:
    """A PostgreSQL database holding `count` seeded repositories, kept between runs under a
    name that says what it holds (`hubstead_bench_<count>_v<SEED_VERSION>`): reused when its
    seed finished, else created and seeded. Returns its URL and the seconds seeding took
    (None: reused)."""
    import psycopg

    name = f"hubstead_bench_{count}_v{SEED_VERSION}"
    url = f"{server}/{name}"
    if not reseed and seeded(url) == (SEED_VERSION, count):
        return url, None
    with psycopg.connect(f"{server}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    seconds = seed(url, count)
    mark_seeded(url, count, seconds)
    return url, seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", help="seed this database (default: the kept one)")
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--reseed", action="store_true", help="seed the kept database again")
    args = parser.parse_args()
    if args.database_url:
        url, seconds = args.database_url, seed(args.database_url, args.count)
    else:
        url, seconds = kept_database(args.count, reseed=args.reseed)
    print(
        f"{url}: "
        + ("reused" if seconds is None else f"seeded {args.count} repositories in {seconds:.0f} s")
    )


if __name__ == "__main__":
    main()
