"""Seed a hub database with many repositories with realistic metadata, for discovery benchmarks.

Listings, facets and search read only the database (the tags of each repository's default
branch, its counters, its card text), so this writes those rows in bulk with the same models
and the same indexing rules as the card service (`listing_index.index_rows`, `compatible_apps`), then
recounts the per-tag counters once (`ListingIndex.rebuild_counts`), without creating a
git repository per entry. Distributions are skewed like the Hub's: a few tasks, libraries,
licenses and languages dominate, and downloads and likes follow a long tail.

Usage: python bench/seed_repos.py --database-url URL [--count 100000]   (used by bench_discovery)
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import time
import uuid

from sqlalchemy import insert, select, text

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


def seed(database_url: str, count: int, seed_value: int = 0, batch: int = 2000) -> float:
    """Insert `count` public model repositories under 500 namespaces; returns the seconds taken."""
    rng = random.Random(seed_value)
    db = Database(database_url)
    db.migrate()
    start = time.perf_counter()
    namespaces = [f"org{i}" for i in range(500)]
    datasets = [f"{rng.choice(namespaces)}/data-{i}" for i in range(2000)]
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
    for first in range(0, count, batch):
        rows, cards, extras = [], [], []
        for index in range(first, min(first + batch, count)):
            spec = synthetic(rng, index, datasets)
            created = now - dt.timedelta(minutes=count - index)
            rows.append(
                {
                    "storage_key": uuid.uuid4().hex,
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
            )
            extras.append(spec)
        with db.session() as session:
            ids = session.execute(insert(Repository).returning(Repository.id), rows).scalars().all()
            for repo_id, _row, spec in zip(ids, rows, extras):
                cards.append(
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
            session.execute(insert(RepoCard), cards)
            tag_rows, documents, app_rows = [], [], []
            for repo_id, row, spec in zip(ids, rows, extras):
                tags, document = index_rows(
                    repo_id, row["namespace"], row["name"], spec["tags"], spec["text"]
                )
                tag_rows += tags
                documents.append(document)
                app_rows += [
                    {"app": app, "repo_id": repo_id}
                    for app in compatible_apps(
                        spec["tags"], spec["pipeline_tag"], spec["library"], {}
                    )
                ]
            session.execute(insert(RepoTag), tag_rows)
            if app_rows:
                session.execute(insert(RepoApp), app_rows)
            session.execute(insert(RepoSearchDocument), documents)
    ListingIndex(db).rebuild_counts()
    # What autovacuum does to a live hub within a minute of a bulk load: fresh statistics and,
    # on PostgreSQL, the visibility map (index-only scans need it; insert-triggered vacuum sets it)
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("ANALYZE" if db.is_sqlite else "VACUUM ANALYZE"))
    seconds = time.perf_counter() - start
    db.dispose()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--count", type=int, default=100_000)
    args = parser.parse_args()
    seconds = seed(args.database_url, args.count)
    print(f"seeded {args.count} repositories in {seconds:.0f} s")


if __name__ == "__main__":
    main()
