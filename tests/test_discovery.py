"""Discovery with the real client: list_models / list_datasets parameters, pagination, private
repositories, counters and likes, facets and full-text search."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from huggingface_hub import HfApi, hf_hub_download

from helpers import anonymous

CARDS = {
    "bert-sentiment": (
        "text-classification",
        "transformers",
        ["en"],
        "apache-2.0",
        ["acme/reviews"],
        ["sentiment"],
        "A classifier of movie reviews, fine tuned for sentiment polarity.",
    ),
    "bert-ner": (
        "token-classification",
        "transformers",
        ["en", "de"],
        "mit",
        ["acme/conll"],
        ["ner"],
        "Finds people, places and organisations in news articles.",
    ),
    "gpt-tiny": (
        "text-generation",
        "transformers",
        ["fr"],
        "mit",
        [],
        ["chat"],
        "A very small generator of French poetry.",
    ),
    "sd-mini": (
        "text-to-image",
        "diffusers",
        [],
        "openrail",
        ["acme/pictures"],
        ["art"],
        "Paints landscapes with watercolours.",
    ),
    "st-embed": (
        "sentence-similarity",
        "sentence-transformers",
        ["en"],
        "apache-2.0",
        [],
        ["embeddings"],
        "Sentence embeddings for semantic search over reviews.",
    ),
}


def card(
    pipeline: str,
    library: str,
    languages: list,
    license: str,
    datasets: list,
    tags: list,
    text: str,
) -> str:
    lines = ["---", f"pipeline_tag: {pipeline}", f"library_name: {library}", f"license: {license}"]
    if languages:
        lines += ["language:"] + [f"- {code}" for code in languages]
    if datasets:
        lines += ["datasets:"] + [f"- {d}" for d in datasets]
    lines += ["tags:"] + [f"- {t}" for t in tags] + ["---", f"# Model\n\n{text}\n"]
    return "\n".join(lines)


@pytest.fixture(scope="module")
def catalog(hub, api: HfApi) -> dict[str, str]:
    """Five public models with different cards under `acme`, a private one, and a dataset."""
    ids = {}
    for name, spec in CARDS.items():
        repo_id = api.create_repo(f"acme/{name}").repo_id
        api.upload_file(
            path_or_fileobj=card(*spec).encode(), path_in_repo="README.md", repo_id=repo_id
        )
        api.upload_file(
            path_or_fileobj=b'{"model_type": "bert"}', path_in_repo="config.json", repo_id=repo_id
        )
        ids[name] = repo_id
    secret = api.create_repo("acme/secret-sentiment", private=True).repo_id
    api.upload_file(
        path_or_fileobj=card(*CARDS["bert-sentiment"]).encode(),
        path_in_repo="README.md",
        repo_id=secret,
    )
    ids["secret"] = secret
    dataset = api.create_repo("acme/reviews", repo_type="dataset").repo_id
    api.upload_file(
        path_or_fileobj=b"---\nlicense: mit\nlanguage:\n- en\ntask_categories:\n- text-classification\n---\n# Reviews\n",
        path_in_repo="README.md",
        repo_id=dataset,
        repo_type="dataset",
    )
    ids["dataset"] = dataset
    return ids


def names(models) -> set[str]:
    return {m.id.split("/", 1)[1] for m in models}


def test_filters_are_anded_tags(hub, catalog):
    api = anonymous(hub)
    assert names(api.list_models(author="acme", filter="text-classification")) == {"bert-sentiment"}
    assert names(api.list_models(author="acme", filter=["transformers", "en"])) == {
        "bert-sentiment",
        "bert-ner",
    }
    assert names(api.list_models(author="acme", filter=["transformers", "en", "license:mit"])) == {
        "bert-ner"
    }
    assert names(api.list_models(author="acme", trained_dataset="acme/reviews")) == {
        "bert-sentiment"
    }
    assert names(api.list_models(author="acme", filter="dataset:acme/pictures")) == {"sd-mini"}
    assert names(api.list_models(author="acme", filter="diffusers")) == {"sd-mini"}
    assert names(api.list_models(author="acme", pipeline_tag="sentence-similarity")) == {"st-embed"}
    assert names(api.list_models(author="acme", filter="de")) == {"bert-ner"}
    assert names(api.list_models(author="acme", filter="nothing-has-this")) == set()


def test_hub_query_keys_language_license_dataset_other(hub, catalog):
    def ids(**params) -> set[str]:
        response = httpx.get(f"{hub.endpoint}/api/models", params={"author": "acme", **params})
        assert response.status_code == 200
        return {m["id"].split("/", 1)[1] for m in response.json()}

    assert ids(license="apache-2.0") == {"bert-sentiment", "st-embed"}
    assert ids(language="fr") == {"gpt-tiny"}
    assert ids(dataset="acme/conll") == {"bert-ner"}
    assert ids(other="art") == {"sd-mini"}
    assert ids(gated="true") == set()
    assert len(ids(gated="false")) == 5


def test_search_and_sort(hub, api: HfApi, catalog):
    anon = anonymous(hub)
    assert names(anon.list_models(search="bert")) == {"bert-sentiment", "bert-ner"}
    assert names(anon.list_models(search="ACME/GPT")) == {"gpt-tiny"}
    ordered = [m.id for m in anon.list_models(author="acme", sort="id")]
    assert ordered == sorted(ordered)
    by_created = [m.id for m in anon.list_models(author="acme", sort="created_at")]
    assert by_created[0] == "acme/st-embed" and by_created[-1] == "acme/bert-sentiment"
    modified = [m.last_modified for m in anon.list_models(author="acme", sort="last_modified")]
    assert modified == sorted(modified, reverse=True)
    listed = next(iter(anon.list_models(author="acme", search="st-embed", full=True)))
    assert (
        listed.pipeline_tag == "sentence-similarity"
        and listed.library_name == "sentence-transformers"
    )
    assert listed.card_data is not None and listed.card_data.license == "apache-2.0"
    expanded = next(iter(anon.list_models(search="gpt-tiny", expand=["downloads", "pipeline_tag"])))
    assert (
        expanded.pipeline_tag == "text-generation"
        and expanded.downloads == 0
        and expanded.likes is None
    )
    bad = httpx.get(f"{hub.endpoint}/api/models", params={"expand": "nonsense"})
    assert bad.status_code == 400 and bad.json()["error"].startswith('"expand" must be one of')


def test_pagination_is_stable_across_pages(hub, api: HfApi):
    admin = HfApi(endpoint=hub.endpoint, token=hub.tokens["admin"])
    for i in range(7):
        admin.create_repo(f"paged-{i}")
    seen, url = [], f"{hub.endpoint}/api/models?author=admin&sort=createdAt&limit=3"
    while url:
        response = httpx.get(url)
        seen += [m["id"] for m in response.json()]
        url = response.links.get("next", {}).get("url")
        if url:
            assert url.startswith("http://") and "cursor=" in url
            admin.create_repo(f"inserted-{len(seen)}")  # new repos don't shift later pages
    assert seen[:3] == ["admin/paged-6", "admin/paged-5", "admin/paged-4"]
    assert len(set(seen)) == len(seen), "no repository twice across pages"
    assert {f"admin/paged-{i}" for i in range(7)} <= set(seen)
    assert (
        len(list(HfApi(endpoint=hub.endpoint, token=False).list_models(author="admin", limit=4)))
        == 4
    )


def test_private_repositories_are_listed_only_for_their_readers(hub, api: HfApi, catalog):
    assert "acme/secret-sentiment" in {
        m.id for m in api.list_models(author="acme")
    }  # alice is an acme admin
    assert "acme/secret-sentiment" not in {m.id for m in anonymous(hub).list_models(author="acme")}
    bob = HfApi(endpoint=hub.endpoint, token=hub.tokens["bob"])  # acme reader: sees it
    assert "acme/secret-sentiment" in {m.id for m in bob.list_models(filter="sentiment")}
    outsider = HfApi(endpoint=hub.endpoint, token=hub.tokens["alice_read"].replace("hf_", "hf_"))
    assert "acme/secret-sentiment" in {
        m.id for m in outsider.list_models(filter="sentiment")
    }  # alice's read token
    facets = httpx.get(f"{hub.endpoint}/api/models-tags-by-type").json()
    sentiment = next(t for t in facets["other"] if t["id"] == "sentiment")
    assert sentiment["count"] == 1, "the private repo is not counted for anonymous callers"
    hits = httpx.get(
        f"{hub.endpoint}/api/search/full-text", params={"q": "sentiment polarity"}
    ).json()
    assert [h["repoId"] for h in hits["hits"]] == ["acme/bert-sentiment"]


def test_list_datasets(hub, catalog):
    api = anonymous(hub)
    datasets = list(api.list_datasets(author="acme", full=True))
    assert [d.id for d in datasets] == ["acme/reviews"]
    assert "license:mit" in datasets[0].tags
    assert [d.id for d in api.list_datasets(filter="license:mit", search="review")] == [
        "acme/reviews"
    ]
    assert list(api.list_datasets(filter="license:apache-2.0", author="acme")) == []
    tags = httpx.get(f"{hub.endpoint}/api/datasets-tags-by-type").json()
    assert any(t["id"] == "license:mit" for t in tags["license"])


def test_facets_with_counts(hub, catalog):
    tags = HfApi(endpoint=hub.endpoint, token=False).get_model_tags()
    tasks = {t["id"]: t["count"] for t in tags["pipeline_tag"]}
    assert tasks["text-classification"] >= 1 and tasks["text-to-image"] == 1
    libraries = {t["id"]: t["count"] for t in tags["library"]}
    assert libraries["transformers"] >= 3 and libraries["diffusers"] == 1
    assert {t["id"] for t in tags["language"]} >= {"en", "de", "fr"}
    assert {t["id"] for t in tags["license"]} >= {
        "license:mit",
        "license:apache-2.0",
        "license:openrail",
    }
    assert {t["id"] for t in tags["dataset"]} >= {"dataset:acme/reviews", "dataset:acme/conll"}
    assert all(t["type"] == kind for kind, items in tags.items() for t in items)


def test_full_text_search_ranks_card_text(hub, catalog):
    def hits(q: str, **params) -> list[str]:
        response = httpx.get(f"{hub.endpoint}/api/search/full-text", params={"q": q, **params})
        assert response.status_code == 200
        return [h["repoId"] for h in response.json()["hits"]]

    assert hits("watercolours landscapes") == ["acme/sd-mini"]
    assert hits("reviews")[:2] and set(hits("reviews")) >= {"acme/bert-sentiment", "acme/st-embed"}
    assert hits("poetry", type="model") == ["acme/gpt-tiny"]
    assert hits("poetry", type="dataset") == []
    assert hits("ner") and hits("ner")[0] == "acme/bert-ner"  # matched by id
    assert hits("") == [] and hits("zzzqqq") == []
    # the secret repo is found by its owner only
    mine = httpx.get(
        f"{hub.endpoint}/api/search/full-text",
        params={"q": "polarity"},
        headers={"Authorization": f"Bearer {hub.tokens['alice']}"},
    ).json()
    assert {h["repoId"] for h in mine["hits"]} == {"acme/bert-sentiment", "acme/secret-sentiment"}


def test_downloads_are_counted_on_the_server(hub, api: HfApi, catalog, tmp_path: Path):
    repo_id = catalog["gpt-tiny"]
    before = api.model_info(repo_id, expand=["downloads", "downloadsAllTime"])
    for i in range(2):
        hf_hub_download(repo_id, "config.json", endpoint=hub.endpoint, cache_dir=tmp_path / f"c{i}")
    hf_hub_download(
        repo_id, "README.md", endpoint=hub.endpoint, cache_dir=tmp_path / "c3"
    )  # not a query file
    httpx.get(f"{hub.endpoint}/{repo_id}/resolve/main/config.json")  # a plain client
    httpx.head(
        f"{hub.endpoint}/{repo_id}/resolve/main/config.json"
    )  # a bare HEAD is not a download
    after = None
    for _ in range(100):  # counted after the response is sent
        after = api.model_info(repo_id, expand=["downloads", "downloadsAllTime"])
        if after.downloads - before.downloads >= 3:
            break
        time.sleep(0.05)
    assert after.downloads - before.downloads == 3
    assert after.downloads_all_time - before.downloads_all_time == 3
    top = next(iter(anonymous(hub).list_models(author="acme", sort="downloads")))
    assert top.id == repo_id
    env = {**os.environ, **{k: v for k, v in hub.server_env().items() if k.startswith("HUBSTEAD_")}}
    result = subprocess.run(
        [sys.executable, "-m", "hubstead", "counters"], env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert (
        api.model_info(repo_id).downloads == after.downloads
    )  # today's downloads are in the 30-day window
    trending = [m.id for m in anonymous(hub).list_models(author="acme", sort="trending_score")]
    assert trending[0] == repo_id


def test_likes(hub, api: HfApi, catalog):
    repo_id = catalog["st-embed"]
    bob = {"Authorization": f"Bearer {hub.tokens['bob']}"}
    alice = {"Authorization": f"Bearer {hub.tokens['alice']}"}
    for headers in (bob, alice, bob):  # liking twice is one like
        assert (
            httpx.post(f"{hub.endpoint}/api/models/{repo_id}/like", headers=headers).status_code
            == 200
        )
    assert api.model_info(repo_id).likes == 2
    assert {u.username for u in api.list_repo_likers(repo_id)} == {"alice", "bob"}
    assert api.list_liked_repos("bob").models == [repo_id]
    assert httpx.post(f"{hub.endpoint}/api/models/{repo_id}/like").status_code == 401
    reader = {"Authorization": f"Bearer {hub.tokens['alice_read']}"}
    assert (
        httpx.post(f"{hub.endpoint}/api/models/{repo_id}/like", headers=reader).status_code == 400
    )
    HfApi(endpoint=hub.endpoint, token=hub.tokens["bob"]).unlike(repo_id)
    assert api.model_info(repo_id).likes == 1
    top = next(iter(anonymous(hub).list_models(author="acme", sort="likes")))
    assert top.id == repo_id
    hidden = api.create_repo(
        "liked-in-secret", private=True
    ).repo_id  # alice's own: bob can't see it
    secret_like = httpx.post(f"{hub.endpoint}/api/models/{hidden}/like", headers=bob)
    assert secret_like.status_code == 404 and secret_like.headers["x-error-code"] == "RepoNotFound"


def _safetensors(parameters: int) -> bytes:
    import json
    import struct

    header = json.dumps(
        {"weight": {"dtype": "F32", "shape": [parameters], "data_offsets": [0, 4 * parameters]}}
    ).encode()
    return struct.pack("<Q", len(header)) + header + bytes(4 * parameters)


def test_apps_parameters_and_inference_filters(hub, api: HfApi, catalog):
    gguf = api.create_repo("acme/tiny-gguf").repo_id
    api.upload_file(
        path_or_fileobj=b"GGUF" + bytes(60), path_in_repo="tiny.Q4_K_M.gguf", repo_id=gguf
    )
    api.upload_file(
        path_or_fileobj=b"---\npipeline_tag: text-generation\n---\n# Tiny\n",
        path_in_repo="README.md",
        repo_id=gguf,
    )
    sized = api.create_repo("acme/sized-1500").repo_id
    api.upload_file(
        path_or_fileobj=_safetensors(1500), path_in_repo="model.safetensors", repo_id=sized
    )
    anon = anonymous(hub)
    assert names(anon.list_models(author="acme", apps="llama.cpp")) == {"tiny-gguf"}
    assert names(anon.list_models(author="acme", apps=["ollama", "drawthings"])) == {
        "tiny-gguf",
        "sd-mini",
    }
    assert names(anon.list_models(author="acme", apps="mlx-lm")) == set()
    assert names(anon.list_models(author="acme", num_parameters="min:1K,max:2K")) == {"sized-1500"}
    assert names(anon.list_models(author="acme", num_parameters="min:1.6K")) == set()
    assert names(anon.list_models(author="acme", num_parameters="max:1500")) == {"sized-1500"}
    # no inference provider serves models on this hub (yet): a listing of served models is empty
    assert names(anon.list_models(author="acme", inference="warm")) == set()
    assert names(anon.list_models(author="acme", inference_provider="all")) == set()
    bad = httpx.get(f"{hub.endpoint}/api/models", params={"num_parameters": "min:lots"})
    assert (
        bad.status_code == 400
        and "num_parameters" in bad.json()["error"]
        and bad.headers["x-error-message"]
    )


def test_facet_counts_follow_commits_visibility_and_deletion(hub, api: HfApi):
    repo_id = api.create_repo("acme/facet-probe").repo_id

    def count(tag: str, token: str | None = None) -> int:
        # get_model_tags() sends no token: the signed-in view is asked for directly
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        facets = httpx.get(f"{hub.endpoint}/api/models-tags-by-type", headers=headers).json()
        return next((t["count"] for items in facets.values() for t in items if t["id"] == tag), 0)

    def tag_card(tag: str) -> None:
        api.upload_file(
            path_or_fileobj=f"---\ntags:\n- {tag}\n---\n# Probe\n".encode(),
            path_in_repo="README.md",
            repo_id=repo_id,
        )

    alice = hub.tokens["alice"]
    tag_card("probe-one")
    assert count("probe-one") == 1
    api.update_repo_settings(repo_id, private=True)
    assert count("probe-one") == 0 and count("probe-one", alice) == 1
    api.update_repo_settings(repo_id, private=True)  # no change: counted once
    assert count("probe-one", alice) == 1
    tag_card("probe-two")
    assert (count("probe-one", alice), count("probe-two", alice), count("probe-two")) == (0, 1, 0)
    api.update_repo_settings(repo_id, private=False)
    assert (count("probe-two"), count("probe-two", alice)) == (1, 1)
    api.delete_repo(repo_id)
    assert (count("probe-two"), count("probe-two", alice)) == (0, 0)
