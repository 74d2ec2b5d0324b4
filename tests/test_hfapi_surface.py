"""The rest of HfApi's surface for models, datasets and their repositories, through the real client.

Each method either works as on the Hub or fails with a clear error in the Hub's format saying the
feature is not supported here (see docs/api-compatibility.md, "Other HfApi methods").
"""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

import httpx
import pytest
from huggingface_hub import CommitOperationAdd, HfApi, hf_hub_download, hf_hub_url
from huggingface_hub.errors import (
    BadRequestError,
    GatedRepoError,
    HfHubHTTPError,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
)


@pytest.fixture(scope="module")
def bob(hub) -> HfApi:
    return HfApi(endpoint=hub.endpoint, token=hub.tokens["bob"])


@pytest.fixture(scope="module")
def anonymous(hub) -> HfApi:
    return HfApi(endpoint=hub.endpoint, token=False)


def safetensors_bytes(tensors: dict[str, list[int]], metadata: dict | None = None) -> bytes:
    header: dict = {}
    offset = 0
    for name, shape in tensors.items():
        count = 1
        for dim in shape:
            count *= dim
        header[name] = {
            "dtype": "F32",
            "shape": shape,
            "data_offsets": [offset, offset + 4 * count],
        }
        offset += 4 * count
    header["__metadata__"] = metadata or {"format": "pt"}
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + b"\0" * offset


def sharded_operations(folder: str = "") -> list[CommitOperationAdd]:
    prefix = f"{folder}/" if folder else ""
    index = {
        "metadata": {"total_size": 40},
        "weight_map": {
            "layer.0.weight": "model-00001-of-00002.safetensors",
            "layer.0.bias": "model-00001-of-00002.safetensors",
            "layer.1.weight": "model-00002-of-00002.safetensors",
        },
    }
    return [
        CommitOperationAdd(f"{prefix}model.safetensors.index.json", json.dumps(index).encode()),
        CommitOperationAdd(
            f"{prefix}model-00001-of-00002.safetensors",
            safetensors_bytes({"layer.0.weight": [2, 2], "layer.0.bias": [2]}),
        ),
        CommitOperationAdd(
            f"{prefix}model-00002-of-00002.safetensors", safetensors_bytes({"layer.1.weight": [2]})
        ),
    ]


# -- duplicate_repo ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def source_repo(api: HfApi) -> str:
    """A model with two commits, an LFS file, a card, a branch and a tag."""
    repo_id = api.create_repo("dup-source").repo_id
    api.create_commit(
        repo_id,
        operations=[
            CommitOperationAdd(
                "README.md", b"---\nlicense: mit\ntags: [duplicated-tag]\n---\n# Source\n"
            ),
            CommitOperationAdd("weights.bin", os.urandom(4096)),
        ],
        commit_message="first",
    )
    api.upload_file(
        path_or_fileobj=b"second",
        path_in_repo="notes.txt",
        repo_id=repo_id,
        commit_message="second",
    )
    api.create_branch(repo_id, branch="dev")
    api.create_tag(repo_id, tag="v1", tag_message="release")
    return repo_id


def test_duplicate_repo_copies_history_refs_files_and_card(
    api: HfApi, source_repo: str, hub, tmp_path: Path
):
    url = api.duplicate_repo(source_repo, "alice/dup-copy")
    assert url.repo_id == "alice/dup-copy" and url.files_copy_pending is False
    assert [c.commit_id for c in api.list_repo_commits("alice/dup-copy")] == [
        c.commit_id for c in api.list_repo_commits(source_repo)
    ]
    source_refs, copy_refs = api.list_repo_refs(source_repo), api.list_repo_refs("alice/dup-copy")
    assert {(b.name, b.target_commit) for b in copy_refs.branches} == {
        (b.name, b.target_commit) for b in source_refs.branches
    }
    assert [(t.name, t.target_commit) for t in copy_refs.tags] == [
        (t.name, t.target_commit) for t in source_refs.tags
    ]
    original = Path(
        hf_hub_download(
            source_repo,
            "weights.bin",
            endpoint=hub.endpoint,
            token=api.token,
            cache_dir=tmp_path / "a",
        )
    ).read_bytes()
    copied = Path(
        hf_hub_download(
            "alice/dup-copy",
            "weights.bin",
            endpoint=hub.endpoint,
            token=api.token,
            cache_dir=tmp_path / "b",
        )
    ).read_bytes()
    assert copied == original and len(copied) == 4096
    info = api.model_info("alice/dup-copy")
    assert info.private is False and info.likes == 0
    assert "duplicated-tag" in info.tags and info.card_data.license == "mit"
    assert "alice/dup-copy" in [m.id for m in api.list_models(author="alice")]


def test_duplicate_repo_files_survive_the_source(api: HfApi, hub, tmp_path: Path):
    """The copy's LFS objects are linked to it: deleting the source does not take them away."""
    repo_id = api.create_repo("dup-ephemeral").repo_id
    data = os.urandom(3000)
    api.upload_file(path_or_fileobj=data, path_in_repo="blob.bin", repo_id=repo_id)
    api.duplicate_repo(repo_id, "alice/dup-survivor")
    api.delete_repo(repo_id)
    path = hf_hub_download(
        "alice/dup-survivor", "blob.bin", endpoint=hub.endpoint, token=api.token, cache_dir=tmp_path
    )
    assert Path(path).read_bytes() == data


def test_duplicate_repo_links_only_committed_objects(api: HfApi, hub):
    """An object uploaded to the source but never committed is not reachable from the copy."""
    repo_id = api.create_repo("dup-uncommitted").repo_id
    operation = CommitOperationAdd("never-committed.bin", os.urandom(2048))
    api.preupload_lfs_files(repo_id, [operation])
    api.duplicate_repo(repo_id, "alice/dup-uncommitted-copy")
    oid, size = operation.upload_info.sha256.hex(), operation.upload_info.size
    for target in (repo_id, "alice/dup-uncommitted-copy"):
        answer = httpx.post(
            f"{hub.endpoint}/{target}.git/info/lfs/objects/batch",
            headers={
                "Authorization": f"Bearer {api.token}",
                "Accept": "application/vnd.git-lfs+json",
            },
            json={"operation": "download", "objects": [{"oid": oid, "size": size}]},
        ).json()
        error = answer["objects"][0].get("error")
        assert (error is None) == (target == repo_id)


def test_duplicate_repo_visibility_namespace_and_type(api: HfApi, source_repo: str):
    url = api.duplicate_repo(source_repo, "acme/dup-org-copy", private=True)
    assert url.repo_id == "acme/dup-org-copy"
    assert api.model_info("acme/dup-org-copy").private is True
    private = api.create_repo("dup-private-source", private=True).repo_id
    api.duplicate_repo(private, "alice/dup-private-copy")
    assert (
        api.model_info("alice/dup-private-copy").private is True
    )  # the source's visibility by default
    api.duplicate_repo(private, "alice/dup-made-public", visibility="public")
    assert api.model_info("alice/dup-made-public").private is False
    dataset = api.create_repo("dup-dataset", repo_type="dataset").repo_id
    api.upload_file(
        path_or_fileobj=b"a,b\n1,2\n",
        path_in_repo="train.csv",
        repo_id=dataset,
        repo_type="dataset",
    )
    copy = api.duplicate_repo(dataset, "alice/dup-dataset-copy", repo_type="dataset")
    assert copy.repo_type == "dataset"
    assert api.list_repo_files("alice/dup-dataset-copy", repo_type="dataset") == [
        ".gitattributes",
        "train.csv",
    ]


def test_duplicate_repo_defaults_to_the_callers_namespace(bob: HfApi, source_repo: str):
    url = bob.duplicate_repo(source_repo)
    assert url.repo_id == "bob/dup-source"
    assert bob.model_info("bob/dup-source").sha == bob.model_info(source_repo).sha


def test_duplicate_repo_existing_target(api: HfApi, source_repo: str):
    api.create_repo("dup-taken")
    with pytest.raises(HfHubHTTPError) as conflict:
        api.duplicate_repo(source_repo, "alice/dup-taken")
    assert conflict.value.response.status_code == 409
    assert (
        api.duplicate_repo(source_repo, "alice/dup-taken", exist_ok=True).repo_id
        == "alice/dup-taken"
    )
    assert api.list_repo_files("alice/dup-taken") == [".gitattributes"]  # left as it was


def test_duplicate_repo_refusals(api: HfApi, bob: HfApi, anonymous: HfApi, hub, source_repo: str):
    private = api.create_repo("dup-secret", private=True).repo_id
    with pytest.raises(RepositoryNotFoundError):
        bob.duplicate_repo(private, "bob/stolen")
    assert not api.repo_exists("bob/stolen")
    gated = api.create_repo("dup-gated").repo_id
    api.update_repo_settings(gated, gated="manual")
    with pytest.raises(GatedRepoError):
        bob.duplicate_repo(gated, "bob/gated-copy")  # copying hands out the files: the gate applies
    assert not api.repo_exists("bob/gated-copy")
    with pytest.raises(HfHubHTTPError) as forbidden:
        bob.duplicate_repo(source_repo, "acme/bob-copy")  # bob only reads acme
    assert forbidden.value.response.status_code == 403
    assert "don't have the rights" in forbidden.value.server_message
    with pytest.raises(HfHubHTTPError) as unauthenticated:
        anonymous.duplicate_repo(source_repo, "alice/anonymous-copy")
    assert unauthenticated.value.response.status_code == 401
    assert "signed in" in unauthenticated.value.server_message
    read_only = HfApi(endpoint=hub.endpoint, token=hub.tokens["alice_read"])
    with pytest.raises(HfHubHTTPError) as read_token:
        read_only.duplicate_repo(source_repo, "alice/read-token-copy")
    assert read_token.value.response.status_code == 403
    space = api.create_repo("dup-space", repo_type="space", space_sdk="static").repo_id
    with pytest.raises(BadRequestError, match="not run on this hub"):
        api.duplicate_repo(
            space, "alice/dup-space-copy", repo_type="space", space_hardware="t4-small"
        )
    assert api.duplicate_repo(space, "alice/dup-space-copy", repo_type="space").repo_type == "space"


# -- safetensors ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sharded_repo(api: HfApi) -> str:
    repo_id = api.create_repo("sharded-model").repo_id
    api.create_commit(
        repo_id,
        operations=sharded_operations() + sharded_operations("text_encoder"),
        commit_message="sharded weights",
    )
    return repo_id


def test_get_sharded_safetensors_metadata_matches_the_per_file_parse(api: HfApi, sharded_repo: str):
    one_call = api.get_sharded_safetensors_metadata(sharded_repo)
    per_file = api.get_safetensors_metadata(sharded_repo)
    assert one_call.sharded is True and one_call.metadata == {"total_size": 40}
    assert one_call.weight_map == per_file.weight_map
    assert one_call.files_metadata == per_file.files_metadata
    assert one_call.parameter_count == {"F32": 8}
    shard = one_call.files_metadata["model-00001-of-00002.safetensors"]
    assert shard.tensors["layer.0.weight"].shape == [2, 2] and shard.metadata == {"format": "pt"}


def test_sharded_safetensors_index_in_a_folder(api: HfApi, sharded_repo: str):
    nested = api.get_sharded_safetensors_metadata(
        sharded_repo, filename="text_encoder/model.safetensors.index.json"
    )
    assert set(nested.files_metadata) == {
        "model-00001-of-00002.safetensors",
        "model-00002-of-00002.safetensors",
    }
    assert nested.weight_map["layer.1.weight"] == "model-00002-of-00002.safetensors"


def test_single_file_safetensors_metadata(api: HfApi):
    repo_id = api.create_repo("single-safetensors").repo_id
    api.upload_file(
        path_or_fileobj=safetensors_bytes({"w": [3, 4]}),
        path_in_repo="model.safetensors",
        repo_id=repo_id,
    )
    metadata = api.get_safetensors_metadata(repo_id)
    assert metadata.sharded is False and metadata.weight_map == {"w": "model.safetensors"}
    assert metadata.parameter_count == {"F32": 12}


def test_sharded_safetensors_metadata_errors(api: HfApi, bob: HfApi):
    repo_id = api.create_repo("sharded-broken").repo_id
    with pytest.raises(RemoteEntryNotFoundError):
        api.get_sharded_safetensors_metadata(repo_id)  # no index
    index = {"weight_map": {"a": "missing.safetensors"}}
    api.upload_file(
        path_or_fileobj=json.dumps(index).encode(),
        path_in_repo="model.safetensors.index.json",
        repo_id=repo_id,
    )
    with pytest.raises(RemoteEntryNotFoundError, match="missing.safetensors"):
        api.get_sharded_safetensors_metadata(repo_id)
    api.upload_file(
        path_or_fileobj=b"not json", path_in_repo="model.safetensors.index.json", repo_id=repo_id
    )
    with pytest.raises(BadRequestError, match="not valid JSON"):
        api.get_sharded_safetensors_metadata(repo_id)
    private = api.create_repo("sharded-private", private=True).repo_id
    api.create_commit(private, operations=sharded_operations(), commit_message="weights")
    with pytest.raises(RepositoryNotFoundError):
        bob.get_sharded_safetensors_metadata(private)


# -- users and organizations ------------------------------------------------------------------


def test_get_user_overview(api: HfApi, bob: HfApi, anonymous: HfApi):
    api.create_repo("overview-public")
    api.create_repo("overview-private", private=True)
    api.create_repo("overview-dataset", repo_type="dataset")
    mine, theirs = api.get_user_overview("alice"), anonymous.get_user_overview("alice")
    assert mine.username == "alice" and mine.fullname == "alice" and mine.user_type == "user"
    assert mine.avatar_url.endswith("/avatars/alice.svg")
    assert (
        mine.num_models
        == theirs.num_models
        + sum(  # private repositories count for their readers only
            1 for m in api.list_models(author="alice") if m.private
        )
    )
    assert theirs.num_models == len([m for m in anonymous.list_models(author="alice")])
    assert mine.num_datasets >= 1 and mine.num_followers == 0 and mine.num_following == 0
    assert [org.name for org in mine.orgs] == ["acme"]
    assert bob.get_user_overview("bob").username == "bob"
    with pytest.raises(HfHubHTTPError) as missing:
        api.get_user_overview("nobody")
    assert missing.value.response.status_code == 404
    with pytest.raises(HfHubHTTPError):
        api.get_user_overview("acme")  # an organization, not a user


def test_get_organization_overview(api: HfApi, anonymous: HfApi):
    api.create_repo("acme/org-public-model")
    api.create_repo("acme/org-private-model", private=True)
    member, outsider = (
        api.get_organization_overview("acme"),
        anonymous.get_organization_overview("acme"),
    )
    assert (
        member.name == "acme"
        and member.fullname == "acme"
        and member.avatar_url.endswith("/avatars/acme.svg")
    )
    assert member.num_users == 2 and member.num_followers == 0 and member.is_verified is False
    assert member.num_models == outsider.num_models + len(
        [m for m in api.list_models(author="acme") if m.private]
    )
    with pytest.raises(HfHubHTTPError) as missing:
        api.get_organization_overview("no-such-org")
    assert missing.value.response.status_code == 404


def test_list_organization_members(api: HfApi, anonymous: HfApi):
    members = list(api.list_organization_members("acme"))
    assert [m.username for m in members] == ["alice", "bob"]
    assert all(m.avatar_url and m.fullname and m.user_type == "user" for m in members)
    assert [m.role for m in members] == ["admin", "read"]  # shown to members
    assert not hasattr(list(anonymous.list_organization_members("acme"))[0], "role")
    with pytest.raises(HfHubHTTPError):
        list(api.list_organization_members("no-such-org"))


def test_followers_and_following_are_empty(api: HfApi):
    """No follow feature: nobody follows anyone, for accounts that exist."""
    assert list(api.list_user_followers("alice")) == []
    assert list(api.list_user_following("bob")) == []
    assert list(api.list_organization_followers("acme")) == []
    for call in (
        lambda: list(api.list_user_followers("nobody")),
        lambda: list(api.list_user_following("nobody")),
        lambda: list(api.list_organization_followers("nobody")),
    ):
        with pytest.raises(HfHubHTTPError) as missing:
            call()
        assert missing.value.response.status_code == 404


def test_list_user_repos(api: HfApi, bob: HfApi, anonymous: HfApi, hub):
    repo_id = api.create_repo("storage-model", private=True).repo_id
    api.upload_file(path_or_fileobj=os.urandom(50_000), path_in_repo="big.bin", repo_id=repo_id)
    mine = {r.id: r for r in api.list_user_repos()}
    assert repo_id in mine and all(r.id.startswith("alice/") for r in mine.values())
    item = mine[repo_id]
    assert item.type == "model" and item.visibility == "private" and item.storage > 50_000
    assert item.updated_at.year >= 2024 and 0 < item.storage_percent <= 100
    assert round(sum(r.storage_percent for r in mine.values())) in (99, 100, 101)
    read_only = HfApi(endpoint=hub.endpoint, token=hub.tokens["alice_read"])
    assert {r.id for r in read_only.list_user_repos()} == set(mine)
    api.create_repo("acme/storage-org-model")
    assert "acme/storage-org-model" in {
        r.id for r in bob.list_user_repos("acme")
    }  # bob is a member
    assert "bob/" not in " ".join(mine)
    with pytest.raises(HfHubHTTPError) as unauthenticated:
        list(anonymous.list_user_repos())
    assert unauthenticated.value.response.status_code == 401
    with pytest.raises(HfHubHTTPError) as missing:
        list(api.list_user_repos("no-such-org"))
    assert missing.value.response.status_code == 404


# -- likes ------------------------------------------------------------------------------------


def test_likes_likers_and_unlike(api: HfApi, bob: HfApi, hub):
    repo_id = api.create_repo("liked-model").repo_id
    for token in (
        hub.tokens["alice"],
        hub.tokens["bob"],
    ):  # the client cannot like: it is the web's button
        response = httpx.post(
            f"{hub.endpoint}/api/models/{repo_id}/like",
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 200
    likers = list(api.list_repo_likers(repo_id))
    assert [u.username for u in likers] == ["bob", "alice"]  # the latest first
    assert all(
        u.fullname == u.username and u.avatar_url.endswith(f"/avatars/{u.username}.svg")
        for u in likers
    )
    assert repo_id in api.list_liked_repos().models
    assert repo_id in api.list_liked_repos("bob").models
    bob.unlike(repo_id)
    assert repo_id not in api.list_liked_repos("bob").models
    assert [u.username for u in api.list_repo_likers(repo_id)] == ["alice"]
    assert api.model_info(repo_id).likes == 1
    with pytest.raises(HfHubHTTPError) as missing:
        api.list_liked_repos("nobody")
    assert missing.value.response.status_code == 404


# -- existence checks -------------------------------------------------------------------------


def test_exists_checks_on_models_and_datasets(api: HfApi, bob: HfApi):
    dataset = api.create_repo("exists-dataset", repo_type="dataset").repo_id
    api.upload_file(
        path_or_fileobj=b"x", path_in_repo="data/train.csv", repo_id=dataset, repo_type="dataset"
    )
    assert api.repo_exists(dataset, repo_type="dataset") and not api.repo_exists(dataset)
    assert api.file_exists(dataset, "data/train.csv", repo_type="dataset")
    assert not api.file_exists(dataset, "data/test.csv", repo_type="dataset")
    assert api.revision_exists(dataset, "main", repo_type="dataset")
    assert not api.revision_exists(dataset, "nope", repo_type="dataset")
    private = api.create_repo("exists-private", private=True).repo_id
    assert api.repo_exists(private) and not bob.repo_exists(private)
    assert not bob.file_exists(private, ".gitattributes")
    assert (
        api.resolve_revision(dataset, repo_type="dataset").resolved == api.dataset_info(dataset).sha
    )


# -- features this hub does not have ----------------------------------------------------------


def test_kernels_are_refused_cleanly(api: HfApi, anonymous: HfApi, hub, tmp_path: Path):
    with pytest.raises(
        RepositoryNotFoundError, match="Kernel repositories are not supported on this hub"
    ) as info:
        anonymous.kernel_info("alice/some-kernel")
    assert info.value.response.status_code == 404  # nothing is hidden: no 401 for anonymous callers
    assert api.repo_exists("alice/some-kernel", repo_type="kernel") is False
    with pytest.raises(BadRequestError, match="Kernel repositories are not supported on this hub"):
        api.create_repo("some-kernel", repo_type="kernel")
    with pytest.raises(RepositoryNotFoundError):
        hf_hub_download(
            "alice/some-kernel",
            "build.toml",
            repo_type="kernel",
            endpoint=hub.endpoint,
            token=False,
            cache_dir=tmp_path,
        )


def test_dataset_leaderboard_is_refused_cleanly(api: HfApi, bob: HfApi):
    dataset = api.create_repo("leaderboard-dataset", repo_type="dataset").repo_id
    with pytest.raises(HfHubHTTPError) as refused:
        api.get_dataset_leaderboard(dataset)
    assert refused.value.response.status_code == 404
    assert refused.value.server_message == "Dataset leaderboards are not supported on this hub"
    private = api.create_repo("leaderboard-private", repo_type="dataset", private=True).repo_id
    with pytest.raises(RepositoryNotFoundError):
        bob.get_dataset_leaderboard(private)


def test_parquet_files_are_a_huggingface_co_feature(api: HfApi):
    """The client itself refuses: the Dataset Viewer only exists on huggingface.co."""
    with pytest.raises(ValueError, match="only available on the Hugging Face Hub"):
        api.list_dataset_parquet_files("alice/anything")


def test_spaces_are_stored_without_runtime(api: HfApi):
    space = api.create_repo("stored-space", repo_type="space", space_sdk="gradio").repo_id
    api.upload_file(
        path_or_fileobj=b"---\nsdk: gradio\ntitle: Demo\n---\n# Demo\n",
        path_in_repo="README.md",
        repo_id=space,
        repo_type="space",
    )
    info = api.space_info(space)
    assert info.id == space and info.sdk == "gradio" and info.card_data.title == "Demo"
    assert space in [s.id for s in api.list_spaces(author="alice")]
    assert api.list_space_templates() == []
    with pytest.raises(
        BadRequestError, match="Semantic search of Spaces is not supported on this hub"
    ):
        list(api.search_spaces("a demo"))


# -- attachments ------------------------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(64))


def test_upload_attachment(api: HfApi, anonymous: HfApi, hub, tmp_path: Path):
    image = tmp_path / "shot.png"
    image.write_bytes(PNG)
    url = api.upload_attachment(image)
    assert url.startswith(hub.endpoint + "/-/uploads/") and url.endswith(".png")
    served = httpx.get(url)
    assert served.status_code == 200 and served.content == PNG
    assert (
        served.headers["content-type"] == "image/png"
        and served.headers["x-content-type-options"] == "nosniff"
    )
    assert api.upload_attachment(image) == url  # named by content
    disguised = tmp_path / "page.png"
    disguised.write_bytes(b"<html><script>alert(1)</script></html>")
    with pytest.raises(BadRequestError, match="not image/png"):
        api.upload_attachment(disguised)
    with pytest.raises(HfHubHTTPError) as unauthenticated:
        anonymous.upload_attachment(image)
    assert unauthenticated.value.response.status_code == 401
    # the caller is judged before the body is read: an anonymous oversized upload is a 401
    oversized = httpx.post(
        f"{hub.endpoint}/uploads",
        content=b"\0" * (51 * 1024 * 1024),
        headers={"Content-Type": "video/mp4"},
        timeout=60,
    )
    assert oversized.status_code == 401
    read_only = httpx.post(
        f"{hub.endpoint}/uploads",
        content=PNG,
        headers={
            "Content-Type": "image/png",
            "Authorization": f"Bearer {hub.tokens['alice_read']}",
        },
    )
    assert read_only.status_code == 403
    with pytest.raises(ValueError):  # the client checks the extension first
        api.upload_attachment(tmp_path / "notes.txt")
    assert httpx.get(f"{hub.endpoint}/-/uploads/{'0' * 64}.png").status_code == 404


# -- methods that already worked, checked here once ------------------------------------------


def test_copy_files_within_and_across_repositories(api: HfApi):
    """Within a repository any file (LFS included); across repositories the client copies LFS
    files by Xet hash only, so this LFS-only run copies regular files there."""
    source = api.create_repo("copy-source").repo_id
    api.create_commit(
        source,
        operations=[
            CommitOperationAdd("folder/a.txt", b"a"),
            CommitOperationAdd("folder/sub/c.txt", b"c"),
            CommitOperationAdd("weights/b.bin", os.urandom(1500)),
        ],
        commit_message="files",
    )
    api.copy_files(f"hf://{source}/folder/a.txt", f"hf://{source}/a-copy.txt")
    api.copy_files(f"hf://{source}/weights/b.bin", f"hf://{source}/b-copy.bin")
    copied = {e.path: e for e in api.get_paths_info(source, ["weights/b.bin", "b-copy.bin"])}
    assert copied["b-copy.bin"].lfs.sha256 == copied["weights/b.bin"].lfs.sha256
    target = api.create_repo("copy-target").repo_id
    api.copy_files(f"hf://{source}/folder/", f"hf://{target}/imported/")
    assert "a-copy.txt" in api.list_repo_files(source)
    assert sorted(api.list_repo_files(target)) == [
        ".gitattributes",
        "imported/a.txt",
        "imported/sub/c.txt",
    ]


def test_tree_paths_info_commits_refs_and_file_metadata(api: HfApi, hub):
    repo_id = api.create_repo("surface-files").repo_id
    api.create_commit(
        repo_id,
        operations=[
            CommitOperationAdd("a/b/c.txt", b"hello"),
            CommitOperationAdd("a/b/w.bin", os.urandom(2000)),
        ],
        commit_message="nested <files>",
    )
    entries = {e.path: e for e in api.list_repo_tree(repo_id, "a/b", expand=True)}
    assert set(entries) == {"a/b/c.txt", "a/b/w.bin"}
    assert (
        entries["a/b/w.bin"].lfs.size == 2000
        and entries["a/b/c.txt"].last_commit.title == "nested <files>"
    )
    infos = api.get_paths_info(repo_id, ["a", "a/b/c.txt", "missing"], expand=True)
    assert [type(i).__name__ for i in infos] == ["RepoFolder", "RepoFile"]
    commits = api.list_repo_commits(repo_id, formatted=True)
    assert commits[0].formatted_title == "nested &lt;files&gt;"
    api.create_commit(
        repo_id,
        operations=[CommitOperationAdd("pr.txt", b"pr")],
        commit_message="pr",
        create_pr=True,
    )
    assert [
        pr.ref for pr in api.list_repo_refs(repo_id, include_pull_requests=True).pull_requests
    ] == ["refs/pr/1"]
    metadata = api.get_hf_file_metadata(url=hf_hub_url(repo_id, "a/b/w.bin", endpoint=hub.endpoint))
    assert (
        metadata.size == 2000
        and metadata.commit_hash == commits[0].commit_id
        and len(metadata.etag) == 64
    )
    assert (
        api.get_full_repo_name("x") == "alice/x"
        and api.get_full_repo_name("x", organization="acme") == "acme/x"
    )


def test_preupload_and_uploads_with_patterns(api: HfApi, tmp_path: Path):
    repo_id = api.create_repo("surface-uploads").repo_id
    operation = CommitOperationAdd("big.bin", os.urandom(3000))
    api.preupload_lfs_files(repo_id, [operation])
    assert operation._upload_mode == "lfs" and operation._is_uploaded
    api.create_commit(
        repo_id,
        operations=[
            operation,
            CommitOperationAdd("old/x.txt", b"x"),
            CommitOperationAdd("old/y.log", b"y"),
            CommitOperationAdd("up/stale.bin", b"s"),
        ],
        commit_message="base",
    )
    folder = tmp_path / "folder"
    (folder / "sub").mkdir(parents=True)
    (folder / "k.txt").write_text("k")
    (folder / "sub" / "j.json").write_text("{}")
    (folder / "skip.log").write_text("s")
    api.upload_folder(
        folder_path=folder,
        repo_id=repo_id,
        path_in_repo="up",
        allow_patterns=["*.txt", "sub/*"],
        delete_patterns=["*.bin"],
    )
    api.delete_files(repo_id, ["old/*.txt"])
    future = api.upload_file(
        path_or_fileobj=b"f", path_in_repo="future.txt", repo_id=repo_id, run_as_future=True
    )
    assert future.result().oid == api.model_info(repo_id).sha
    api.delete_folder("old", repo_id=repo_id)
    assert sorted(api.list_repo_files(repo_id)) == [
        ".gitattributes",
        "big.bin",
        "future.txt",
        "up/k.txt",
        "up/sub/j.json",
    ]


def test_settings_tags_and_info_parsers(api: HfApi, bob: HfApi):
    repo_id = api.create_repo("surface-settings").repo_id
    api.update_repo_settings(repo_id, private=True, gated="auto")
    info = api.model_info(repo_id, expand=["private", "gated"])
    assert info.private is True and info.gated == "auto"
    api.update_repo_settings(repo_id, private=False, gated=False)
    assert bob.model_info(repo_id).gated is False
    dataset = api.create_repo("surface-dataset", repo_type="dataset").repo_id
    api.upload_file(
        path_or_fileobj=b"---\nlicense: mit\n---\n",
        path_in_repo="README.md",
        repo_id=dataset,
        repo_type="dataset",
    )
    model_tags, dataset_tags = api.get_model_tags(), api.get_dataset_tags()
    assert set(model_tags) >= {"pipeline_tag", "library", "license"} and set(dataset_tags) >= {
        "license",
        "other",
    }
    mit = next(t for t in dataset_tags["license"] if t["id"] == "license:mit")
    assert mit["label"] == "mit" and mit["type"] == "license" and mit["count"] >= 1
    full = next(d for d in api.list_datasets(author="alice", full=True) if d.id == dataset)
    assert full.card_data.license == "mit" and any(
        s.rfilename == "README.md" for s in full.siblings
    )
    expanded = api.dataset_info(
        dataset, expand=["downloads", "likes", "cardData", "siblings", "citation", "sha"]
    )
    assert expanded.downloads == 0 and expanded.likes == 0 and expanded.card_data.license == "mit"
    assert (
        expanded.sha == api.dataset_info(dataset).sha and expanded.author is None
    )  # only what was asked
