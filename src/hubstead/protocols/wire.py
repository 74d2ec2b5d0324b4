"""JSON shapes of the Hub API (field names exactly as the official client reads them)."""

from __future__ import annotations

from html import escape

from hubstead.domain.avatars import avatar_url
from hubstead.domain.repo_ids import RepoType
from hubstead.domain.tags.eval_results import is_wire_item
from hubstead.services.discussions import (
    AccountView,
    DiscussionPage,
    DiscussionView,
    EventRecord,
    People,
    Timeline,
)
from hubstead.services.pickle_scan import FileStatus, RepoStatus, is_pickle_file
from hubstead.services.repos import RepoHandle, RepoRevision, RepoView, iso
from hubstead.storage.gitrepo import CommitInfo, TreeEntry

EXPAND_PROPERTIES = {
    RepoType.MODEL: [
        "author",
        "baseModels",
        "cardData",
        "childrenModelCount",
        "config",
        "createdAt",
        "disabled",
        "downloads",
        "downloadsAllTime",
        "evalResults",
        "gated",
        "gguf",
        "inference",
        "inferenceProviderMapping",
        "lastModified",
        "library_name",
        "likes",
        "mask_token",
        "model-index",
        "pipeline_tag",
        "private",
        "resourceGroup",
        "safetensors",
        "securityRepoStatus",
        "sha",
        "siblings",
        "spaces",
        "tags",
        "transformersInfo",
        "trendingScore",
        "usedStorage",
        "widgetData",
    ],
    RepoType.DATASET: [
        "author",
        "cardData",
        "citation",
        "createdAt",
        "description",
        "disabled",
        "downloads",
        "downloadsAllTime",
        "gated",
        "lastModified",
        "likes",
        "mainSize",
        "paperswithcode_id",
        "private",
        "resourceGroup",
        "sha",
        "siblings",
        "tags",
        "trendingScore",
        "usedStorage",
    ],
    RepoType.SPACE: [
        "author",
        "cardData",
        "createdAt",
        "datasets",
        "disabled",
        "lastModified",
        "likes",
        "models",
        "private",
        "resourceGroup",
        "runtime",
        "sdk",
        "sha",
        "siblings",
        "subdomain",
        "tags",
        "trendingScore",
        "usedStorage",
    ],
}


def tree_entry(
    entry: TreeEntry,
    last_commit: CommitInfo | None = None,
    xet_hash: str | None = None,
    security: dict | None = None,
) -> dict:
    if entry.type == "directory":
        data: dict = {"type": "directory", "oid": entry.oid, "size": 0, "path": entry.path}
    else:
        data = {"type": "file", "oid": entry.oid, "size": entry.size, "path": entry.path}
        if entry.lfs is not None:
            data["lfs"] = {
                "oid": entry.lfs.oid,
                "size": entry.lfs.size,
                "pointerSize": entry.pointer_size,
            }
        if xet_hash is not None:
            data["xetHash"] = xet_hash
    if last_commit is not None:
        data["lastCommit"] = {
            "id": last_commit.id,
            "title": last_commit.title,
            "date": iso(last_commit.date),
        }
    if security is not None:
        data["securityFileStatus"] = security
    return data


def security_file_status(entry: TreeEntry, statuses: dict[str, FileStatus]) -> dict | None:
    """`securityFileStatus` of an expanded tree or paths-info entry, for a pickle-based file
    (None for the others, which no scanner reads here). `avScan` and `pickleImportScan` are
    always present: huggingface_hub reads both keys. No antivirus runs: its scan is
    "unscanned"; a pickle file not scanned yet is too."""
    if entry.type != "file" or not is_pickle_file(entry.path):
        return None
    status = statuses.get(entry.path)
    if status is None:
        pending = {"status": "unscanned"}
        return {"status": "unscanned", "avScan": pending, "pickleImportScan": pending}
    scan: dict = {
        "status": status.level,
        "pickleImports": status.imports,
        "version": status.scanner,
    }
    if status.message:
        scan["message"] = status.message
    return {"status": status.level, "avScan": {"status": "unscanned"}, "pickleImportScan": scan}


def security_repo_status(status: RepoStatus) -> dict:
    """`securityRepoStatus` (model_info with `securityStatus`): whether every pickle file of the
    revision was scanned, and those that are not "safe" with their level ("caution", "unsafe")
    and the imports found."""
    return {
        "scansDone": status.scans_done,
        "filesWithIssues": [
            {"path": f.path, "level": f.level, "pickleImports": f.imports}
            for f in status.with_issues
        ],
    }


def sibling(entry: TreeEntry, blobs: bool) -> dict:
    data: dict = {"rfilename": entry.path}
    if blobs:
        data["size"] = entry.size
        data["blobId"] = entry.oid
        if entry.lfs is not None:
            data["lfs"] = {
                "size": entry.lfs.size,
                "sha256": entry.lfs.oid,
                "pointerSize": entry.pointer_size,
            }
    return data


# Fields derived from the card and files that the API serves, under the Hub's names. Anything
# else the derivation stores is internal to the hub.
DERIVED_MODEL_FIELDS = (
    "transformersInfo",
    "config",
    "widgetData",
    "mask_token",
    "evalResults",
    "model-index",
    "safetensors",
)

# What a listing returns without `full` or `expand`: the Hub's default fields, nothing heavier.
LIST_DEFAULT_FIELDS = {
    RepoType.MODEL: (
        "_id",
        "id",
        "likes",
        "trendingScore",
        "private",
        "downloads",
        "tags",
        "pipeline_tag",
        "library_name",
        "createdAt",
        "modelId",
    ),
    RepoType.DATASET: (
        "_id",
        "id",
        "author",
        "disabled",
        "gated",
        "lastModified",
        "likes",
        "trendingScore",
        "private",
        "sha",
        "downloads",
        "tags",
        "createdAt",
    ),
    RepoType.SPACE: (
        "_id",
        "id",
        "author",
        "likes",
        "trendingScore",
        "private",
        "sha",
        "lastModified",
        "tags",
        "createdAt",
    ),
}


def card_fields(
    repo_type: str, card, with_card_data: bool = True, with_config: bool = True
) -> dict:
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
    if repo_type == RepoType.SPACE.value and isinstance((card.card_data or {}).get("sdk"), str):
        data["sdk"] = card.card_data["sdk"]  # the Hub reads a Space's SDK from its card
    if with_card_data and card.card_data:
        data["cardData"] = card.card_data
    return data


def inference_fields(mapping: dict | None, listing: bool) -> dict:
    """`inference` ("warm" when this hub serves the model) and `inferenceProviderMapping`: a
    dict keyed by provider in model_info, a list in listings, as the Hub sends them."""
    if mapping is None:
        return {"inferenceProviderMapping": [] if listing else {}}
    if listing:
        return {"inference": "warm", "inferenceProviderMapping": [mapping]}
    entry = {k: v for k, v in mapping.items() if k != "provider"}
    return {"inference": "warm", "inferenceProviderMapping": {mapping["provider"]: entry}}


def listing_item(
    item: dict, repo_type: RepoType, expand: list[str], full: bool, extra: tuple[str, ...]
) -> dict:
    """Trim a full listing item to what was asked: `expand` keys, everything for `full`, or the
    Hub's default fields (plus `cardData`/`config` when flagged)."""
    if expand:
        return {key: item.get(key) for key in ("_id", "id", *expand)}
    if full:
        return item
    keys = (*LIST_DEFAULT_FIELDS[repo_type], *extra)
    return {key: item[key] for key in keys if key in item}


def repo_summary(repo: RepoView) -> dict:
    """The fields every listing and info response carries."""
    repo_id = str(repo.id)
    data = {
        "_id": repo.public_id,
        "id": repo_id,
        "author": repo.id.namespace,
        "private": repo.private,
        "gated": repo.gated or False,
        "disabled": False,
        "downloads": repo.downloads,
        "likes": repo.likes,
        "trendingScore": round(repo.trending_score, 6),
        "tags": [],
        "createdAt": iso(repo.created_at),
        "lastModified": iso(repo.last_modified),
    }
    if repo.type is RepoType.MODEL:
        data["modelId"] = repo_id
    return data


def repo_info(revision: RepoRevision, blobs: bool, card=None) -> dict:
    repo = revision.repo
    info = repo_summary(repo)
    info.update(
        sha=revision.sha,
        lastModified=iso(revision.date),
        downloadsAllTime=repo.downloads,
        siblings=[sibling(e, blobs) for e in revision.files],
        usedStorage=sum(e.size for e in revision.files),
        spaces=[],
    )
    info.update(card_fields(repo.type.value, card))
    if repo.type is RepoType.DATASET:
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


def person(account: AccountView | None, people: People) -> dict | None:
    """A user as the Hub shows one next to a discussion or an event (None: a deleted account,
    which the client shows as "deleted")."""
    if account is None:
        return None
    return {
        "_id": f"{account.id:024x}",
        "avatarUrl": avatar_url(account.avatar_url, account.name),
        "fullname": account.fullname or account.name,
        "name": account.name,
        "type": "user",
        "isPro": False,
        "isHf": False,
        "isHfAdmin": False,
        "isMod": False,
        "isOwner": account.id in people.owners,
    }


def _with_author(data: dict, account_id: int | None, people: People) -> dict:
    author = person(people.accounts.get(account_id) if account_id is not None else None, people)
    return {**data, "author": author} if author is not None else data


def discussion(row: DiscussionView, handle: RepoHandle, people: People, num_comments: int) -> dict:
    """An item of GET …/discussions."""
    data = {
        "num": row.num,
        "title": row.title,
        "status": row.status,
        "createdAt": iso(row.created_at),
        "isPullRequest": row.is_pull_request,
        "repo": {"name": str(handle.id), "type": handle.type.value},
        "numComments": num_comments,
        "numReactionUsers": 0,
        "pinned": False,
        "topReactions": [],
    }
    return _with_author(data, row.author_id, people)


def discussion_page(page: DiscussionPage, handle: RepoHandle) -> dict:
    return {
        "discussions": [
            discussion(item.row, handle, page.people, item.num_comments) for item in page.items
        ],
        "count": page.count,
        "start": page.start,
        "numClosedDiscussions": page.num_closed,
    }


def discussion_details(timeline: Timeline, handle: RepoHandle) -> dict:
    """GET …/discussions/{num}: every event in order; for a pull request, its changes (and the
    diff when asked for with `diff=1`)."""
    row, people = timeline.row, timeline.people
    data = {
        "_id": f"{row.id:024x}",
        "num": row.num,
        "repo": {"name": str(handle.id), "type": handle.type.value},
        "title": row.title,
        "createdAt": iso(row.created_at),
        "status": row.status,
        "events": [discussion_event(event, people) for event in timeline.events],
        "pinned": False,
        "locked": False,
        "collection": "discussions",
        "isPullRequest": row.is_pull_request,
    }
    if row.is_pull_request:
        data["changes"] = {
            "base": "refs/heads/main",
            **({"mergeCommitId": row.merge_commit} if row.merge_commit else {}),
        }
        data["filesWithConflicts"] = timeline.conflicts
        if timeline.diff is not None:
            data["diff"] = timeline.diff
    else:
        data["isReport"] = False
    return _with_author(data, row.author_id, people)


def discussion_event(event: EventRecord, people: People) -> dict:
    """One event of a timeline, exactly as `huggingface_hub.community.deserialize_event` reads it.
    The same function shapes an event in the details and in the answer to the change that made
    it, so the client sees equal objects."""
    stored = event.data or {}
    if event.type == "comment":
        data = _comment_data(event, stored, people)
    elif event.type == "status-change":
        data = {"status": stored["status"]}
    elif event.type == "title-change":
        data = {"from": stored["from"], "to": stored["to"]}
    else:
        data = {"subject": stored["subject"], "oid": stored["oid"]}
    shaped = {
        "id": f"{event.id:024x}",
        "type": event.type,
        "createdAt": iso(event.created_at),
        "data": data,
    }
    return _with_author(shaped, event.author_id, people)


def _comment_data(event: EventRecord, stored: dict, people: People) -> dict:
    """A hidden comment is hidden from everyone, as on the Hub: its text and history are blank."""
    editors = [people.accounts[i] for i in stored.get("editorIds", []) if i in people.accounts]
    hidden = bool(event.hidden)
    latest = _with_author(
        {
            "raw": "" if hidden else event.content,
            "html": "" if hidden else stored.get("html", ""),
            "updatedAt": iso(event.edited_at or event.created_at),
        },
        stored.get("lastEditorId", event.author_id),
        people,
    )
    history = (
        []
        if hidden
        else [
            _with_author(
                {"raw": entry["raw"], "updatedAt": entry["updatedAt"]},
                entry.get("authorId"),
                people,
            )
            for entry in stored.get("history", [])
        ]
    )
    data = {
        "edited": event.num_edits > 0,
        "hidden": hidden,
        "latest": latest,
        "numEdits": event.num_edits,
        "editors": [account.name for account in editors],
        "editorAvatarUrls": [avatar_url(account.avatar_url, account.name) for account in editors],
        "reactions": [],
        "history": history,
    }
    hider = people.accounts.get(stored.get("hiddenById")) if hidden else None
    if hider is not None:
        data["hiddenBy"] = hider.name
    return data
