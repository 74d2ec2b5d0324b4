"""Listing plans and maintained tag counts, against the test backend's real database.

A few thousand repositories seeded like the benchmark: both ways of answering a tag filter
(walk the sort index, or start from the rarest tag) must return the same pages as a brute-force
answer in Python, and the per-tag counts must equal a full recount after any mix of changes,
including concurrent ones.
"""

from __future__ import annotations

import importlib.util
import random
import threading
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from conftest import BACKEND
from hubstead.domain.repo_ids import RepoType
from hubstead.services.accounts import Principal
from hubstead.services.discovery import DiscoveryService, ListQuery, parse_parameter_range
from hubstead.services.listing_index import ListingIndex
from hubstead.storage.database import Database
from hubstead.storage.models import RepoApp, RepoCount, Repository, RepoTag, TagCount
from hubstead.testing import PostgresDatabase

SEEDED = 3000
BENCH = Path(__file__).resolve().parent.parent / "bench" / "seed_repos.py"


def _seed_module():
    spec = importlib.util.spec_from_file_location("seed_repos", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    postgres = PostgresDatabase() if BACKEND == "postgresql" else None
    url = postgres.url if postgres else f"sqlite:///{tmp_path_factory.mktemp('listing') / 'hub.db'}"
    _seed_module().seed(url, SEEDED, seed_value=7, batch=1000)
    database = Database(url)
    yield database
    database.dispose()
    if postgres:
        postgres.close()


def _truth(db: Database) -> tuple[list, dict[int, set[str]], dict[int, set[str]]]:
    with db.session() as session:
        repos = list(session.execute(select(Repository.__table__)))
        tags: dict[int, set[str]] = {}
        for tag, repo_id in session.execute(select(RepoTag.tag, RepoTag.repo_id)):
            tags.setdefault(repo_id, set()).add(tag)
        apps: dict[int, set[str]] = {}
        for app, repo_id in session.execute(select(RepoApp.app, RepoApp.repo_id)):
            apps.setdefault(repo_id, set()).add(app)
    return repos, tags, apps


def _sort_key(row, sort: str):
    if sort == "id":
        return (f"{row.namespace}/{row.name}", row.id)
    column = {
        "downloads": "downloads",
        "likes": "likes",
        "lastModified": "last_modified",
        "createdAt": "created_at",
    }[sort]
    value = getattr(row, column)
    if hasattr(value, "tzinfo") and value.tzinfo is not None:
        value = value.replace(tzinfo=None)
    return (value, row.id)


def _all_pages(service: DiscoveryService, query: ListQuery) -> list[int]:
    ids, cursor = [], None
    while True:
        query.cursor = cursor
        rows, cursor = service.list(None, query)
        ids += [row.id for row in rows]
        if cursor is None:
            return ids


FILTERS = [
    ["transformers", "en"],  # common: the sort index is walked
    ["medical", "license:mit"],  # rare pair: starts from the rarest tag
    ["gguf"],
    ["text-generation", "conversational", "safetensors"],
    ["no-such-tag"],
]


@pytest.mark.parametrize("tags", FILTERS, ids=["+".join(t) for t in FILTERS])
@pytest.mark.parametrize("sort", ["downloads", "likes", "lastModified", "createdAt", "id"])
def test_both_plans_page_like_a_brute_force_answer(db, tags, sort):
    repos, repo_tags, _ = _truth(db)
    descending = sort != "id"
    public = [r for r in repos if not r.private and set(tags) <= repo_tags.get(r.id, set())]
    expected = [r.id for r in sorted(public, key=lambda r: _sort_key(r, sort), reverse=descending)]
    auto = DiscoveryService(db, ListingIndex(db))
    walking = DiscoveryService(db, ListingIndex(db))
    walking._rarest_tag = lambda repo_type, tags_, limit: None
    starting = DiscoveryService(db, ListingIndex(db))
    starting._rarest_tag = lambda repo_type, tags_, limit: min(
        tags_, key=lambda t: starting.tag_totals(repo_type, [t]).get(t, 0)
    )
    for service in (auto, walking, starting):
        query = ListQuery(
            RepoType.MODEL, tags=list(tags), sort=sort, descending=descending, limit=37
        )
        assert _all_pages(service, query) == expected


def test_plan_choice_follows_tag_counts(db):
    service = DiscoveryService(db, ListingIndex(db))
    assert service._rarest_tag(RepoType.MODEL, ["transformers", "en"], 50) is None
    assert service._rarest_tag(RepoType.MODEL, ["medical", "license:mit"], 50) == "medical"
    assert service._rarest_tag(RepoType.MODEL, ["transformers", "no-such-tag"], 50) == "no-such-tag"


def test_apps_and_parameter_filters_match_brute_force(db):
    repos, repo_tags, repo_apps = _truth(db)
    service = DiscoveryService(db, ListingIndex(db))
    query = ListQuery(RepoType.MODEL, apps=["llama.cpp", "drawthings"], sort="downloads", limit=100)
    expected = {
        r.id
        for r in repos
        if not r.private and repo_apps.get(r.id, set()) & {"llama.cpp", "drawthings"}
    }
    assert expected and set(_all_pages(service, query)) == expected
    low, high = parse_parameter_range("min:100M,max:7B")
    assert (low, high) == (100_000_000, 7_000_000_000)
    query = ListQuery(
        RepoType.MODEL, tags=["transformers"], num_parameters=(low, high), sort="likes", limit=100
    )
    expected = {
        r.id
        for r in repos
        if not r.private
        and r.num_parameters is not None
        and low <= r.num_parameters <= high
        and "transformers" in repo_tags.get(r.id, set())
    }
    assert expected and set(_all_pages(service, query)) == expected


def _recount(db: Database) -> dict[tuple[str, str], tuple[int, int]]:
    repos, repo_tags, _ = _truth(db)
    counts: Counter = Counter()
    for row in repos:
        for tag in repo_tags.get(row.id, ()):
            counts[(row.type, tag, bool(row.private))] += 1
        counts[(row.type, "<all>", bool(row.private))] += 1
    keys = {(t, tag) for t, tag, _ in counts}
    return {key: (counts[(*key, False)], counts[(*key, True)]) for key in keys}


def _maintained(db: Database) -> dict[tuple[str, str], tuple[int, int]]:
    with db.session() as session:
        rows = session.execute(
            select(TagCount.repo_type, TagCount.tag, TagCount.public_count, TagCount.private_count)
        )
        maintained = {(t, tag): (pub, priv) for t, tag, pub, priv in rows if pub or priv}
        totals = session.execute(
            select(RepoCount.repo_type, RepoCount.public_count, RepoCount.private_count)
        )
        maintained.update({(t, "<all>"): (pub, priv) for t, pub, priv in totals if pub or priv})
        return maintained


def test_counts_stay_exact_under_concurrent_changes(db):
    assert _maintained(db) == _recount(db)
    index = ListingIndex(db)
    repos, _, _ = _truth(db)
    victims = random.Random(3).sample([r.id for r in repos], 60)
    vocabulary = [
        "en",
        "fr",
        "medical",
        "gguf",
        "license:mit",
        "fresh-tag-a",
        "fresh-tag-b",
        "text-generation",
    ]
    errors: list[BaseException] = []
    with db.session() as session:  # as every real writer does, keep each pipeline among the tags
        from hubstead.storage.models import RepoCard

        pipelines = dict(
            session.execute(
                select(RepoCard.repo_id, RepoCard.pipeline_tag).where(RepoCard.repo_id.in_(victims))
            ).all()
        )

    def churn(seed: int) -> None:
        rng = random.Random(seed)
        try:
            for _ in range(40):
                repo_id = rng.choice(victims)
                action = rng.random()
                with db.session() as session:
                    if action < 0.6:
                        tags = rng.sample(vocabulary, rng.randint(0, 5))
                        if pipelines.get(repo_id) and pipelines[repo_id] not in tags:
                            tags.append(pipelines[repo_id])
                        index.replace(session, repo_id, tags, "text")
                    else:
                        index.set_private(session, repo_id, rng.random() < 0.5)
        except BaseException as error:  # noqa: BLE001 - reported by the main thread
            errors.append(error)

    threads = [threading.Thread(target=churn, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with db.session() as session:
        index.forget(session, victims[0])
        session.execute(Repository.__table__.delete().where(Repository.id == victims[0]))
    assert _maintained(db) == _recount(db)


def test_facets_read_the_maintained_counts(db):
    service = DiscoveryService(db, ListingIndex(db))
    recount = _recount(db)
    facets = service.facets(None, RepoType.MODEL, per_facet=10_000)
    listed = {item["id"]: item["count"] for items in facets.values() for item in items}
    expected = {
        tag: pub
        for (t, tag), (pub, _) in recount.items()
        if t == "model" and pub and not tag.startswith("region:") and tag != "<all>"
    }
    assert listed == expected
    admin = Principal(user_id=0, name="root", token_role="read", token_name="t", is_admin=True)
    everything = service.facets(admin, RepoType.MODEL, per_facet=10_000)
    listed = {item["id"]: item["count"] for items in everything.values() for item in items}
    assert listed == {
        tag: pub + priv
        for (t, tag), (pub, priv) in recount.items()
        if t == "model" and not tag.startswith("region:") and tag != "<all>"
    }


@pytest.mark.parametrize("tags", FILTERS, ids=["+".join(t) for t in FILTERS])
def test_filtered_counts_match_brute_force(db, tags):
    repos, repo_tags, _ = _truth(db)
    service = DiscoveryService(db, ListingIndex(db))
    public = [r for r in repos if not r.private and set(tags) <= repo_tags.get(r.id, set())]
    assert service.count(None, RepoType.MODEL, ListQuery(RepoType.MODEL, tags=tags)) == (
        len(public),
        True,
    )


def test_totals_follow_the_caller(db):
    repos, _, _ = _truth(db)
    service = DiscoveryService(db, ListingIndex(db))
    models = [r for r in repos if r.type == "model"]
    public = sum(not r.private for r in models)
    assert service.count(None, RepoType.MODEL) == (public, True)
    admin = Principal(user_id=0, name="root", token_role="read", token_name="t", is_admin=True)
    assert service.count(admin, RepoType.MODEL) == (len(models), True)
    owner = next(r.namespace for r in models if r.private)
    member = Principal(
        user_id=0,
        name="someone",
        token_role="read",
        token_name="t",
        is_admin=False,
        org_roles={owner: "read"},
    )
    own = sum(r.private and r.namespace == owner for r in models)
    assert own and service.count(member, RepoType.MODEL) == (public + own, True)


def test_a_broad_filtered_count_stops_at_the_cap(db, monkeypatch):
    import hubstead.services.discovery as discovery

    monkeypatch.setattr(discovery, "COUNT_CAP", 50)
    service = DiscoveryService(db, ListingIndex(db))
    assert service.count(None, RepoType.MODEL, ListQuery(RepoType.MODEL, tags=["en"])) == (
        50,
        False,
    )


@pytest.mark.parametrize(
    ("pipeline", "tags"),
    [("text-generation", ["en"]), ("text-classification", []), ("fill-mask", ["en", "pytorch"])],
)
def test_pipeline_filter_matches_brute_force(db, pipeline, tags):
    """A `pipeline_tag=` listing may start from the pipeline's tag rows: still exactly the
    models whose card has that pipeline, for both the pages and the count."""
    from hubstead.storage.models import RepoCard

    repos, repo_tags, _ = _truth(db)
    with db.session() as session:
        pipelines = dict(session.execute(select(RepoCard.repo_id, RepoCard.pipeline_tag)).all())
    expected = {
        r.id
        for r in repos
        if not r.private
        and r.type == "model"
        and pipelines.get(r.id) == pipeline
        and set(tags) <= repo_tags.get(r.id, set())
    }
    service = DiscoveryService(db, ListingIndex(db))
    query = ListQuery(RepoType.MODEL, tags=tags, pipeline_tag=pipeline, sort="likes", limit=50)
    assert expected and set(_all_pages(service, query)) == expected
    assert service.count(None, RepoType.MODEL, query) == (len(expected), True)
