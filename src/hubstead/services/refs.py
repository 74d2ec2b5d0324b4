"""Branches and tags. Every ref change is a compare-and-swap on git's side."""

from __future__ import annotations

import pygit2

from hubstead.domain.errors import BadRequest, Conflict, Forbidden, RevisionNotFound
from hubstead.services.accounts import Principal
from hubstead.services.repos import RepoHandle, RepoService, author_email
from hubstead.storage.gitrepo import signature

DEFAULT_BRANCH = "main"


def _valid_ref(prefix: str, name: str) -> str:
    ref = prefix + name
    if not name or name.startswith("refs/") or not pygit2.reference_is_valid_name(ref):
        raise BadRequest(f"Invalid reference name: {name!r}")
    return ref


class RefService:
    def __init__(self, repos: RepoService):
        self.repos = repos

    def list(self, handle: RepoHandle, include_prs: bool) -> dict:
        git = handle.git

        def entries(prefix: str) -> list[dict]:
            return [{"name": name, "ref": prefix + name, "targetCommit": target} for name, target in git.refs(prefix).items()]

        result = {"branches": entries("refs/heads/"), "converts": entries("refs/convert/"), "tags": entries("refs/tags/")}
        if include_prs:
            result["pullRequests"] = sorted(entries("refs/pr/"), key=lambda e: int(e["name"]) if e["name"].isdigit() else 0)
        return result

    def create_branch(self, handle: RepoHandle, branch: str, starting_point: str | None) -> str:
        ref = _valid_ref("refs/heads/", branch)
        target = handle.git.resolve(starting_point or DEFAULT_BRANCH)
        if not handle.git.update_ref(ref, target, None, "create branch"):
            raise Conflict(f"Reference already exists: {ref}")
        self.repos.record_ref(handle.row.id, ref, target)
        return target

    def delete_branch(self, handle: RepoHandle, branch: str) -> None:
        if branch == DEFAULT_BRANCH:
            raise Forbidden("Cannot delete the default branch")
        ref = _valid_ref("refs/heads/", branch)
        current = handle.git.ref_target(ref)
        if current is None or not handle.git.delete_ref(ref):
            raise RevisionNotFound(f"Invalid rev id: {branch}")
        self.repos.record_ref(handle.row.id, ref, None)

    def create_tag(self, handle: RepoHandle, principal: Principal, revision: str, tag: str, message: str | None, email: str | None) -> str:
        ref = _valid_ref("refs/tags/", tag)
        commit = handle.git.resolve(revision or DEFAULT_BRANCH)
        target = commit
        if message:
            target = handle.git.write_tag_object(tag, commit, message, signature(principal.name, author_email(email, principal.name)))
        if not handle.git.update_ref(ref, target, None, "create tag"):
            raise Conflict(f"Tag already exists: {tag}")
        self.repos.record_ref(handle.row.id, ref, commit)
        return commit

    def delete_tag(self, handle: RepoHandle, tag: str) -> None:
        ref = _valid_ref("refs/tags/", tag)
        if handle.git.ref_target(ref) is None or not handle.git.delete_ref(ref):
            raise RevisionNotFound(f"Invalid rev id: {tag}")
        self.repos.record_ref(handle.row.id, ref, None)
