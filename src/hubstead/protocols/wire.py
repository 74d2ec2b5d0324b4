"""JSON shapes of the Hub API (field names exactly as the official client reads them)."""

from __future__ import annotations

from html import escape

from hubstead.domain.repo_ids import RepoType
from hubstead.domain.tags.eval_results import is_wire_item
from hubstead.services.repos import RepoHandle, iso
from hubstead.storage.gitrepo import CommitInfo, GitRepo, TreeEntry
from hubstead.storage.models import Discussion, Repository

EXPAND_PROPERTIES = {
    RepoType.MODEL: [
        "author", "baseModels", "cardData", "childrenModelCount", "config", "createdAt", "disabled",
        "downloads", "downloadsAllTime", "evalResults", "gated", "gguf", "inference",
        "inferenceProviderMapping", "lastModified", "library_name", "likes", "mask_token", "model-index",
        "pipeline_tag", "private", "resourceGroup", "safetensors", "sha", "siblings", "spaces", "tags",
        "transformersInfo", "trendingScore", "usedStorage", "widgetData",
    ],
    RepoType.DATASET: [
        "author", "cardData", "citation", "createdAt", "description", "disabled", "downloads",
        "downloadsAllTime", "gated", "lastModified", "likes", "mainSize", "paperswithcode_id", "private",
        "resourceGroup", "sha", "siblings", "tags", "trendingScore", "usedStorage",
    ],
    RepoType.SPACE: [
        "author", "cardData", "createdAt", "datasets", "disabled", "lastModified", "likes", "models",
        "private", "resourceGroup", "runtime", "sdk", "sha", "siblings", "subdomain", "tags",
        "trendingScore", "usedStorage",
    ],
}


def tree_entry(entry: TreeEntry, last_commit: CommitInfo | None = None, xet_hash: str | None = None) -> dict:
    if entry.type == "directory":
        data: dict = {"type": "directory", "oid": entry.oid, "size": 0, "path": entry.path}
    else:
        data = {"type": "file", "oid": entry.oid, "size": entry.size, "path": entry.path}
        if entry.lfs is not None:
            data["lfs"] = {"oid": entry.lfs.oid, "size": entry.lfs.size, "pointerSize": entry.pointer_size}
        if xet_hash is not None:
            data["xetHash"] = xet_hash
    if last_commit is not None:
        data["lastCommit"] = {"id": last_commit.id, "title": last_commit.title, "date": iso(last_commit.date)}
    return data


def sibling(entry: TreeEntry, blobs: bool) -> dict:
    data: dict = {"rfilename": entry.path}
    if blobs:
        data["size"] = entry.size
        data["blobId"] = entry.oid
        if entry.lfs is not None:
            data["lfs"] = {"size": entry.lfs.size, "sha256": entry.lfs.oid, "pointerSize": entry.pointer_size}
    return data


# Fields derived from the card and files that the API serves, under the Hub's names. Anything
# else the derivation stores is internal to the hub.
DERIVED_MODEL_FIELDS = ("transformersInfo", "config", "widgetData", "mask_token", "evalResults", "model-index",
                        "safetensors")

# What a listing returns without `full` or `expand`: the Hub's default fields, nothing heavier.
LIST_DEFAULT_FIELDS = {
    RepoType.MODEL: ("_id", "id", "likes", "trendingScore", "private", "downloads", "tags", "pipeline_tag",
                     "library_name", "createdAt", "modelId"),
    RepoType.DATASET: ("_id", "id", "author", "disabled", "gated", "lastModified", "likes", "trendingScore",
                       "private", "sha", "downloads", "tags", "createdAt"),
    RepoType.SPACE: ("_id", "id", "author", "likes", "trendingScore", "private", "sha", "lastModified", "tags",
                     "createdAt"),
}


def card_fields(repo_type: str, card, with_card_data: bool = True, with_config: bool = True) -> dict:
    """Fields derived from the card and files (a DerivedCard or a stored RepoCard, or None)."""
    if card is None:
        return {}
    data: dict = {"tags": list(card.tags or [])}
    if repo_type == RepoType.MODEL.value:
        if card.pipeline_tag:
            data["pipeline_tag"] = card.pipeline_tag
        if card.library_name:
            data["library_name"] = card.library_name
        derived = card.derived or {}
        for key in DERIVED_MODEL_FIELDS:
            if key in derived and (with_config or key != "config"):
                data[key] = derived[key]
        results = [item for item in data.pop("evalResults", []) if is_wire_item(item)]
        if results:
            data["evalResults"] = results
    if with_card_data and card.card_data:
        data["cardData"] = card.card_data
    return data


def listing_item(item: dict, repo_type: RepoType, expand: list[str], full: bool, extra: tuple[str, ...]) -> dict:
    """Trim a full listing item to what was asked: `expand` keys, everything for `full`, or the
    Hub's default fields (plus `cardData`/`config` when flagged)."""
    if expand:
        return {key: item.get(key) for key in ("_id", "id", *expand)}
    if full:
        return item
    keys = (*LIST_DEFAULT_FIELDS[repo_type], *extra)
    return {key: item[key] for key in keys if key in item}


def repo_summary(row: Repository) -> dict:
    """The fields every listing and info response carries."""
    repo_id = f"{row.namespace}/{row.name}"
    data = {
        "_id": row.storage_key[:24],
        "id": repo_id,
        "author": row.namespace,
        "private": row.private,
        "gated": row.gated or False,
        "disabled": False,
        "downloads": row.downloads,
        "likes": row.likes,
        "trendingScore": round(row.trending_score or 0.0, 6),
        "tags": [],
        "createdAt": iso(row.created_at),
        "lastModified": iso(row.last_modified),
    }
    if row.type == RepoType.MODEL.value:
        data["modelId"] = repo_id
    return data


def repo_info(handle: RepoHandle, commit: str, blobs: bool, card=None) -> dict:
    git: GitRepo = handle.git
    files = [e for e in git.list_tree(commit, recursive=True) if e.type == "file"]
    info = repo_summary(handle.row)
    head = git.commit_info(commit)
    info.update(
        sha=commit,
        lastModified=iso(head.date),
        downloadsAllTime=handle.row.downloads,
        siblings=[sibling(e, blobs) for e in files],
        usedStorage=sum(e.size for e in files),
        spaces=[],
    )
    info.update(card_fields(handle.row.type, card))
    if handle.type is RepoType.DATASET:
        info.pop("spaces")
        info["description"] = ""
        info["citation"] = ""
    return info


def commit_item(commit: CommitInfo, formatted: bool) -> dict:
    data = {
        "id": commit.id,
        "title": commit.title,
        "message": commit.message,
        "date": iso(commit.date),
        "authors": [{"user": commit.author, "avatar": ""}],
    }
    if formatted:
        data["formatted"] = {"title": escape(commit.title), "message": escape(commit.message)}
    return data


def discussion(row: Discussion, author: str | None, handle: RepoHandle) -> dict:
    return {
        "num": row.num,
        "title": row.title,
        "status": row.status,
        "createdAt": iso(row.created_at),
        "isPullRequest": row.is_pull_request,
        "author": {"name": author or "deleted", "type": "user"},
        "repo": {"name": str(handle.id), "type": handle.type.value},
        "numComments": 1,
        "pinned": False,
        "topReactions": [],
    }


def discussion_details(row: Discussion, author: str | None, handle: RepoHandle) -> dict:
    data = discussion(row, author, handle)
    data["events"] = [
        {
            "id": f"{row.id:024x}",
            "type": "comment",
            "createdAt": iso(row.created_at),
            "author": {"name": author or "deleted", "type": "user"},
            "data": {"edited": False, "hidden": False, "numEdits": 0, "latest": {"raw": row.description, "html": escape(row.description)}},
        }
    ]
    if row.is_pull_request:
        data["changes"] = {"base": "refs/heads/main", **({"mergeCommitId": row.merge_commit} if row.merge_commit else {})}
        data["filesWithConflicts"] = []
        data["diff"] = ""
    return data
