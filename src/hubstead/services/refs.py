"""Branches and tags. Every ref change is a compare-and-swap on git's side, made under the
repository's ref lock (`RepoService.ref_lock`) with its record in the database."""

from __future__ import annotations

import pygit2

from hubstead.domain.errors import BadRequest, Conflict, Forbidden, RevisionNotFound
from hubstead.services.principal import Principal
from hubstead.services.repos import RepoHandle, RepoService, author_email
from hubstead.storage.gitrepo import signature

DEFAULT_BRANCH = "main"
MAX_ATTEMPTS = 25
SQUASHABLE_PREFIXES = ("refs/heads/", "refs/pr/", "refs/convert/")


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
            return [
                {"name": name, "ref": prefix + name, "targetCommit": target}
                for name, target in git.refs(prefix).items()
            ]

        result = {
            "branches": entries("refs/heads/"),
            "converts": entries("refs/convert/"),
            "tags": entries("refs/tags/"),
        }
        if include_prs:
            result["pullRequests"] = sorted(
                entries("refs/pr/"), key=lambda e: int(e["name"]) if e["name"].isdigit() else 0
            )
        return result

    def create_branch(self, handle: RepoHandle, branch: str, starting_point: str | None) -> str:
        ref = _valid_ref("refs/heads/", branch)
        with self.repos.ref_lock(handle.row.id):
            target = handle.git.resolve(starting_point or DEFAULT_BRANCH)
            if not handle.git.update_ref(ref, target, None, "create branch"):
                raise Conflict(f"Reference {ref} already exists")
            self.repos.record_ref(handle.row.id, ref, target)
        return target

    def delete_branch(self, handle: RepoHandle, branch: str) -> None:
        if branch in (DEFAULT_BRANCH, handle.default_branch()):  # main, or the one HEAD names
            raise Forbidden(f"Cannot delete refs/heads/{branch}: it is the default branch")
        ref = _valid_ref("refs/heads/", branch)
        with self.repos.ref_lock(handle.row.id):
            current = handle.git.ref_target(ref)
            if current is None or not handle.git.delete_ref(ref):
                raise RevisionNotFound(f"Invalid rev id: {branch}")
            self.repos.record_ref(handle.row.id, ref, None)

    def create_tag(
        self,
        handle: RepoHandle,
        principal: Principal,
        revision: str,
        tag: str,
        message: str | None,
        email: str | None,
    ) -> str:
        # The revision is looked up before the name is judged: a missing one is 404, as on the Hub.
        commit = handle.git.resolve_abbreviated(revision or DEFAULT_BRANCH)
        ref = _valid_ref("refs/tags/", tag)
        target = commit
        if message:
            target = handle.git.write_tag_object(
                tag, commit, message, signature(principal.name, author_email(email, principal.name))
            )
        with self.repos.ref_lock(handle.row.id):
            if not handle.git.update_ref(ref, target, None, "create tag"):
                raise Conflict(f"Tag already exists: {tag}")
            self.repos.record_ref(handle.row.id, ref, commit)
        return commit

    def delete_tag(self, handle: RepoHandle, tag: str) -> None:
        ref = _valid_ref("refs/tags/", tag)
        with self.repos.ref_lock(handle.row.id):
            if handle.git.ref_target(ref) is None or not handle.git.delete_ref(ref):
                raise RevisionNotFound(f"Invalid rev id: {tag}")
            self.repos.record_ref(handle.row.id, ref, None)

    def super_squash(
        self, handle: RepoHandle, principal: Principal, branch: str, message: str, email: str | None
    ) -> str:
        """Replace the history of a branch (or a pull request or convert ref) by one commit with
        the same tree. If the ref moves meanwhile, the new head is squashed instead: a commit
        that landed during the squash keeps its files, it is never dropped."""
        ref = _squashable_ref(handle, branch)
        author = signature(principal.name, author_email(email, principal.name))
        with self.repos.ref_lock(handle.row.id):
            for _ in range(MAX_ATTEMPTS):
                head = handle.git.ref_target(ref)
                if head is None:
                    raise RevisionNotFound(f"Invalid rev id: {branch}")
                new = handle.git.squash(head, author, message)
                if handle.git.update_ref(ref, new, head, "super-squash"):
                    self.repos.record_ref(handle.row.id, ref, new)
                    return new
        raise Conflict("Cannot squash: the branch is being updated too often, try again")


def _squashable_ref(handle: RepoHandle, branch: str) -> str:
    """The ref `branch` names; tags cannot be squashed (400), a missing ref is RevisionNotFound."""
    if branch.startswith("refs/tags/"):
        raise BadRequest("Invalid reference for a branch: you cannot squash history on tags")
    if branch.startswith("refs/") and not branch.startswith(SQUASHABLE_PREFIXES):
        raise BadRequest(f"Invalid reference for a branch: {branch}")
    ref = branch if branch.startswith("refs/") else f"refs/heads/{branch}"
    if handle.git.ref_target(ref) is None:
        if (
            not branch.startswith("refs/")
            and handle.git.ref_target(f"refs/tags/{branch}") is not None
        ):
            raise BadRequest(
                f"Invalid reference for a branch: {branch} is a tag, you cannot squash history on tags"
            )
        raise RevisionNotFound(f"Invalid rev id: {branch}")
    return ref
