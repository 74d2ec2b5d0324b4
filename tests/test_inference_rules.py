"""The rules behind inference, in process (the fast tier): which models the hub serves (the
Python rule and its SQL form agree on every combination), rate windows and daily quotas in the
database, and the engine routes an operator configures."""

from __future__ import annotations

import itertools
import time

import pytest

from conftest import BACKEND
from hubstead.domain.errors import RateLimited
from hubstead.domain.inference.serving import ServingRules, weight_bytes
from hubstead.domain.repo_ids import RepoType
from hubstead.services.discovery import DiscoveryService, ListQuery
from hubstead.services.inference.engines import route_for
from hubstead.services.inference.metering import Caller, Meter
from hubstead.services.listing_index import ListingIndex
from hubstead.services.principal import Principal
from hubstead.settings import InferenceSettings, SettingsError, _engine_routes
from hubstead.storage.database import Database
from hubstead.storage.models import RepoCard, Repository, RepoTag
from hubstead.testing import PostgresDatabase

MiB = 2**20


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    postgres = PostgresDatabase() if BACKEND == "postgresql" else None
    url = postgres.url if postgres else f"sqlite:///{tmp_path_factory.mktemp('rules') / 'hub.db'}"
    database = Database(url)
    database.migrate()
    yield database
    database.dispose()
    if postgres:
        postgres.close()


CARDS = list(
    itertools.product(
        [None, "text-classification", "text-generation", "text-to-image", "text2text-generation"],
        [(), ("safetensors",), ("pytorch",), ("safetensors", "pytorch")],
        [{}, {"inference": False}, {"inference": True}],
        [None, {"F32": 1000}, {"BF16": 3 * MiB}],  # 4 kB, 6 MiB of weights
        ["acme/model", "acme/remote-x", "acme/remote_x"],  # "acme/remote-*" goes to an engine
    )
)
RULES = [
    ServingRules(True, False, 5 * MiB, ("acme/remote-*",)),
    ServingRules(True, True, 64 * MiB, ()),
    ServingRules(False, True, 64 * MiB, ("acme/remote-*",)),
]


@pytest.fixture(scope="module")
def seeded(db) -> dict[str, tuple]:
    """One model per combination of pipeline tag, weight tags, card metadata, size and name."""
    facts = {}
    with db.session() as session:
        for number, (pipeline, tags, card_data, counts, base) in enumerate(CARDS):
            name = f"{base.split('/')[1]}-{number}"
            repo = Repository(storage_key=f"k{number}", type="model", namespace="acme", name=name)
            session.add(repo)
            session.flush()
            derived = {"safetensors": {"parameters": counts, "total": 1}} if counts else {}
            all_tags = [*tags, *([pipeline] if pipeline else [])]
            session.add(
                RepoCard(
                    repo_id=repo.id,
                    commit="0" * 40,
                    card_data=card_data,
                    tags=all_tags,
                    pipeline_tag=pipeline,
                    derived=derived,
                    inference_off=card_data.get("inference") is False,
                    weight_bytes=weight_bytes(derived),
                )
            )
            for tag in all_tags:
                session.add(RepoTag(repo_id=repo.id, tag=tag))
            facts[f"acme/{name}"] = (pipeline, all_tags, card_data, weight_bytes(derived))
    return facts


@pytest.mark.parametrize("rules", RULES, ids=["safetensors-only", "pickles-allowed", "off"])
def test_listing_filter_is_the_serving_rule_in_sql(db, seeded, rules):
    discovery = DiscoveryService(db, ListingIndex(db), rules)
    admin = Principal(0, "root", "write", "t", is_admin=True)
    listed, cursor = set(), None
    while True:
        query = ListQuery(RepoType.MODEL, inference_served=True, cursor=cursor, limit=100)
        rows, cursor = discovery.list(admin, query)
        listed |= {f"{row.namespace}/{row.name}" for row in rows}
        if cursor is None:
            break
    expected = {
        repo_id
        for repo_id, (pipeline, tags, card_data, size) in seeded.items()
        if rules.refusal(repo_id, pipeline, tags, card_data, size) is None
    }
    assert listed == expected
    assert rules.enabled is bool(expected)


def test_refusals_say_why():
    rules = ServingRules(True, False, 5 * MiB, ("acme/remote-*",))
    assert "pickle" in rules.refusal("a/b", "text-classification", ["pytorch"], {}, None)
    assert "inference: false" in rules.refusal("a/b", "fill-mask", [], {"inference": False}, 1)
    assert "budget" in rules.refusal("a/b", "fill-mask", ["safetensors"], {}, 6 * MiB)
    assert "text-to-image" in rules.refusal("a/b", "text-to-image", ["safetensors"], {}, 1)
    assert "external engine" in rules.refusal("acme/remote-1", "fill-mask", [], {}, None)
    assert rules.refusal("ACME/Remote-1", "text-generation", [], {}, None) is None


def test_daily_quota_counts_across_windows_and_refusals_use_no_room(db):
    meter = Meter(db, InferenceSettings(rate_limit=0, daily_quota=2))
    caller = Caller("token:quota", user_id=1)
    other = Caller("token:other", user_id=1)
    assert meter.admit(caller).headers["X-RateLimit-Remaining"] == "1"
    meter.admit(caller)
    for _ in range(2):  # refused twice: the refusals are not counted
        with pytest.raises(RateLimited) as refused:
            meter.admit(caller)
    seconds_to_midnight = 86_400 - int(time.time()) % 86_400
    assert abs(int(refused.value.headers["Retry-After"]) - seconds_to_midnight) <= 2
    assert "2 requests per day" in refused.value.message
    assert meter.admit(other).headers["X-RateLimit-Remaining"] == "1"


def test_no_limits_configured_means_no_database_work(db):
    meter = Meter(db, InferenceSettings(rate_limit=0, anonymous_rate_limit=0, daily_quota=0))
    assert meter.admit(Caller("addr:1.2.3.4")).headers == {}


def test_engine_routes_parse_and_match(tmp_path):
    routes = _engine_routes(
        '[{"models": ["acme/llama-*", "bob/chat"], "url": "http://e:8000/v1/", "model": "m"}]'
    )
    assert [(r.pattern, r.url, r.model) for r in routes] == [
        ("acme/llama-*", "http://e:8000", "m"),
        ("bob/chat", "http://e:8000", "m"),
    ]
    assert route_for(routes, "Acme/Llama-3") is routes[0]
    assert route_for(routes, "acme/other") is None
    listed = tmp_path / "engines.json"
    listed.write_text('[{"models": "x/*", "url": "https://tgi.internal"}]')
    assert _engine_routes(str(listed))[0].url == "https://tgi.internal"
    for broken in ("{", '[{"models": "x/*"}]', '[{"url": "ftp://x", "models": "a/b"}]', "[5]"):
        with pytest.raises(SettingsError):
            _engine_routes(broken)
