"""Discussions and pull requests through the real client (`HfApi`) and the `hf discussions` CLI.

Every response is parsed by huggingface_hub's own code (`deserialize_event`, the
`DiscussionWithDetails` builder), so the wire contract is the client's, not ours.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import httpx
import pytest
from huggingface_hub import CommitOperationAdd, HfApi
from huggingface_hub.community import (
    DiscussionComment,
    DiscussionCommit,
    DiscussionStatusChange,
    DiscussionTitleChange,
    DiscussionWithDetails,
)
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

from helpers import BIN


@pytest.fixture(scope="module")
def bob(hub) -> HfApi:
    return HfApi(endpoint=hub.endpoint, token=hub.tokens["bob"])


@pytest.fixture(scope="module")
def admin(hub) -> HfApi:
    return HfApi(endpoint=hub.endpoint, token=hub.tokens["admin"])


def _status(error: pytest.ExceptionInfo) -> int:
    return error.value.response.status_code


def _comments(details: DiscussionWithDetails) -> list[DiscussionComment]:
    return [event for event in details.events if isinstance(event, DiscussionComment)]


def _raw(hub, path: str, token: str | None = None, **params) -> httpx.Response:
    headers = {"Authorization": f"Bearer {hub.tokens[token]}"} if token else {}
    return httpx.get(f"{hub.endpoint}{path}", params=params, headers=headers, timeout=30)


def _post(hub, path: str, token: str, body: dict) -> httpx.Response:
    return httpx.post(
        f"{hub.endpoint}{path}",
        json=body,
        headers={"Authorization": f"Bearer {hub.tokens[token]}"},
        timeout=30,
    )


# -- the timeline of a discussion ---------------------------------------------------------------


def test_discussion_timeline_through_the_client(api: HfApi, bob: HfApi):
    repo = api.create_repo("timeline").repo_id
    opened = api.create_discussion(
        repo, title="  Where are the weights?  ", description="The **README** says nothing"
    )
    assert (opened.num, opened.title, opened.author, opened.status) == (
        1,
        "Where are the weights?",
        "alice",
        "open",
    )
    assert opened.is_pull_request is False and opened.target_branch is None and opened.diff is None
    (first,) = _comments(opened)
    assert (
        first.content == "The **README** says nothing"
        and "<strong>README</strong>" in first.rendered
    )
    assert first.edited is False and first.hidden is False and first.number_of_edits == 0

    reply = bob.comment_discussion(repo, 1, "Same question here")
    assert isinstance(reply, DiscussionComment)
    assert (reply.author, reply.content, reply.edited) == ("bob", "Same question here", False)
    assert len(reply.id) == 24 and int(reply.id, 16) > int(first.id, 16)

    edited = bob.edit_discussion_comment(repo, 1, reply.id, "Same question, *edited*")
    assert (edited.id, edited.content, edited.edited) == (reply.id, "Same question, *edited*", True)
    assert edited.last_edited_by == "bob" and edited.number_of_edits == 1
    assert edited.edit_history[0]["raw"] == "Same question here"
    assert "<em>edited</em>" in edited.rendered and edited.last_edited_at >= reply.created_at

    renamed = api.rename_discussion(repo, 1, "Where are the safetensors weights?")
    assert isinstance(renamed, DiscussionTitleChange)
    assert (renamed.old_title, renamed.new_title, renamed.author) == (
        "Where are the weights?",
        "Where are the safetensors weights?",
        "alice",
    )

    closed = api.change_discussion_status(repo, 1, "closed", comment="Answered in the README now")
    assert isinstance(closed, DiscussionStatusChange) and closed.new_status == "closed"
    late = bob.comment_discussion(
        repo, 1, "Thanks!"
    )  # the Hub lets anyone comment on closed discussions
    reopened = api.change_discussion_status(repo, 1, "open")
    assert reopened.new_status == "open"

    details = api.get_discussion_details(repo, 1)
    assert details.title == "Where are the safetensors weights?" and details.status == "open"
    assert [event.type for event in details.events] == [
        "comment",
        "comment",
        "title-change",
        "comment",
        "status-change",
        "comment",
        "status-change",
    ]
    assert [event.id for event in details.events] == sorted(event.id for event in details.events)
    assert details.events[1] == edited  # the same event, field for field, as the edit answered
    assert (
        details.events[2] == renamed
        and details.events[4] == closed
        and details.events[6] == reopened
    )
    assert (
        details.events[3].content == "Answered in the README now"
        and details.events[3].author == "alice"
    )
    assert details.events[5].id == late.id and details.events[5].content == "Thanks!"


def test_hidden_comments_are_blank_for_everyone(api: HfApi, bob: HfApi, admin: HfApi):
    repo = api.create_repo("hiding").repo_id
    api.create_discussion(repo, title="Spam magnet", description="Ask here")
    spam = bob.comment_discussion(repo, 1, "Buy cheap tokens at example.com")
    with pytest.warns(UserWarning):
        hidden = api.hide_discussion_comment(repo, 1, spam.id)
    assert (hidden.id, hidden.hidden, hidden.content, hidden.rendered) == (spam.id, True, "", "")
    assert hidden._event["data"]["hiddenBy"] == "alice" and hidden.edit_history == []
    for reader in (api, bob, admin, HfApi(endpoint=api.endpoint, token=False)):
        shown = _comments(reader.get_discussion_details(repo, 1))[1]
        assert (
            shown.id == spam.id
            and shown.hidden is True
            and shown.content == ""
            and shown.rendered == ""
        )
    with pytest.raises(HfHubHTTPError) as error:
        bob.edit_discussion_comment(repo, 1, spam.id, "Not spam, promise")
    assert _status(error) == 403
    with pytest.warns(UserWarning):
        again = api.hide_discussion_comment(repo, 1, spam.id)
    assert again == hidden


def test_comment_markdown_is_rendered_with_math_and_sanitized(api: HfApi):
    repo = api.create_repo("markdown-comments").repo_id
    api.create_discussion(repo, title="Rendering", description="Formulas below")
    math = api.comment_discussion(repo, 1, "The loss is $$x^2$$ and costs $5")
    assert math.content == "The loss is $$x^2$$ and costs $5"
    assert 'class="katex' in math.rendered and "$$" not in math.rendered and "$5" in math.rendered
    hostile = api.comment_discussion(
        repo, 1, 'Hi <script>alert(1)</script><b onclick="x()">bold</b> [l](javascript:alert(1))'
    )
    assert "<script" not in hostile.rendered and "alert(1)</script>" not in hostile.rendered
    assert (
        "onclick" not in hostile.rendered and "href" not in hostile.rendered
    )  # no javascript: link
    assert "<b>bold</b>" in hostile.rendered and hostile.content.startswith("Hi <script>")
    details = api.get_discussion_details(repo, 1)
    assert [c.rendered for c in _comments(details)[1:]] == [math.rendered, hostile.rendered]


def test_discussions_on_a_dataset(api: HfApi, endpoint: str):
    repo = api.create_repo("talk-data", repo_type="dataset").repo_id
    opened = api.create_discussion(repo, title="Missing split", repo_type="dataset")
    assert (
        opened.url == f"{endpoint}/datasets/{repo}/discussions/1" and opened.repo_type == "dataset"
    )
    assert "huggingface_hub" in _comments(opened)[0].content  # the client's default description
    assert [d.num for d in api.get_repo_discussions(repo, repo_type="dataset")] == [1]


# -- listing --------------------------------------------------------------------------------------


def test_listing_filters_paging_and_counts(api: HfApi, bob: HfApi, hub):
    repo = api.create_repo("busy").repo_id
    path = f"/api/models/{repo}/discussions"
    for index in range(51):
        title = f"Needle question {index}" if index % 10 == 0 else f"Question {index}"
        assert (
            _post(hub, path, "alice", {"title": title, "description": "?"}).json()["num"]
            == index + 1
        )
    for index in range(2):
        _post(
            hub, path, "bob", {"title": f"Bob asks {index}", "description": "?"}
        ).raise_for_status()
    prs = [api.create_pull_request(repo, title=f"Proposal {i}").num for i in range(2)]
    assert prs == [54, 55]
    for num in (3, 7, 53):
        api.change_discussion_status(repo, num, "closed")
    api.merge_pull_request(repo, 55)

    everything = list(api.get_repo_discussions(repo))  # the client follows the pages itself
    assert [d.num for d in everything] == list(range(55, 0, -1))
    assert {d.num: d.status for d in everything if d.status != "open"} == {
        55: "merged",
        53: "closed",
        7: "closed",
        3: "closed",
    }

    first, second = _raw(hub, path).json(), _raw(hub, path, p=1).json()
    assert (first["count"], first["start"], len(first["discussions"])) == (55, 0, 50)
    assert (second["count"], second["start"], len(second["discussions"])) == (55, 50, 5)
    assert first["numClosedDiscussions"] == second["numClosedDiscussions"] == 4
    assert first["discussions"][-1]["num"] == 6 and second["discussions"][0]["num"] == 5
    assert _raw(hub, path, p=2).json()["discussions"] == []

    def nums(**filters) -> list[int]:
        return [d.num for d in api.get_repo_discussions(repo, **filters)]

    assert nums(discussion_type="pull_request") == [55, 54]
    assert nums(discussion_type="discussion") == list(range(53, 0, -1))
    assert nums(discussion_status="closed") == [55, 53, 7, 3]
    assert nums(discussion_status="open") == [
        n for n in range(55, 0, -1) if n not in (55, 53, 7, 3)
    ]
    assert nums(author="bob") == [53, 52]
    assert nums(author="bob", discussion_status="open") == [52]
    assert nums(discussion_type="pull_request", discussion_status="open") == [54]
    assert nums(author="nobody") == []

    search = _raw(hub, path, search="NEEDLE").json()
    assert [d["num"] for d in search["discussions"]] == [51, 41, 31, 21, 11, 1] and search[
        "count"
    ] == 6
    assert _raw(hub, path, type="pull_request").json()["numClosedDiscussions"] == 1
    bobs = _raw(hub, path, author="bob").json()
    assert (
        bobs["discussions"][0]["author"]["name"] == "bob"
        and bobs["discussions"][0]["numComments"] == 1
    )
    assert bobs["discussions"][0]["author"]["isOwner"] is False
    assert _raw(hub, path, author="alice").json()["discussions"][0]["author"]["isOwner"] is True
    for bad in ({"type": "issues"}, {"status": "merged"}, {"p": "-1"}, {"p": "x"}):
        assert _raw(hub, path, **bad).status_code == 400


# -- pull requests --------------------------------------------------------------------------------


def test_pull_request_commits_diff_and_merge(api: HfApi, bob: HfApi):
    repo = api.create_repo("pr-flow").repo_id
    api.create_commit(repo, [CommitOperationAdd("a.txt", b"one\n")], commit_message="Start")
    proposal = bob.create_commit(
        repo,
        [CommitOperationAdd("b.txt", b"proposal\n")],
        commit_message="Add b",
        commit_description="Please take this",
        create_pr=True,
    )
    assert proposal.pr_num == 1 and proposal.pr_revision == "refs/pr/1"
    # bob may only read alice's repository, but he opened the pull request, so he may push to it
    follow_up = bob.create_commit(
        repo,
        [CommitOperationAdd("a.txt", b"one\ntwo\n")],
        commit_message="Extend a",
        revision="refs/pr/1",
    )

    details = api.get_discussion_details(repo, 1)
    assert details.is_pull_request and details.status == "open" and details.author == "bob"
    assert (details.target_branch, details.conflicting_files, details.merge_commit_oid) == (
        "refs/heads/main",
        [],
        None,
    )
    assert [event.type for event in details.events] == ["comment", "commit", "commit"]
    assert details.events[0].content == "Please take this"
    commits = [event for event in details.events if isinstance(event, DiscussionCommit)]
    assert [(c.oid, c.summary, c.author) for c in commits] == [
        (proposal.oid, "Add b", "bob"),
        (follow_up.oid, "Extend a", "bob"),
    ]
    assert (
        "diff --git a/a.txt b/a.txt" in details.diff
        and "+two\n" in details.diff
        and " one\n" in details.diff
    )
    assert "diff --git a/b.txt b/b.txt" in details.diff and "+proposal\n" in details.diff
    assert "b.txt" in api.list_repo_files(
        repo, revision="refs/pr/1"
    ) and "b.txt" not in api.list_repo_files(repo)

    with pytest.raises(HfHubHTTPError) as error:
        bob.merge_pull_request(repo, 1)
    assert _status(error) == 403
    api.merge_pull_request(repo, 1, comment="Thanks bob!")
    merged = api.get_discussion_details(repo, 1)
    head = api.list_repo_commits(repo)[0].commit_id
    assert (
        merged.status == "merged" and merged.merge_commit_oid == head == follow_up.oid
    )  # a fast-forward
    assert Path(api.hf_hub_download(repo, "b.txt")).read_text() == "proposal\n"
    assert [event.type for event in merged.events][-2:] == ["comment", "status-change"]
    assert merged.events[-2].content == "Thanks bob!" and merged.events[-1].new_status == "merged"
    assert (
        merged.diff == details.diff
    )  # still the changes it brought, not an empty diff against main
    with pytest.raises(HfHubHTTPError) as error:
        bob.create_commit(
            repo,
            [CommitOperationAdd("c.txt", b"late")],
            commit_message="Late",
            revision="refs/pr/1",
        )
    assert _status(error) == 400
    with pytest.raises(HfHubHTTPError) as error:
        api.change_discussion_status(repo, 1, "closed")
    assert _status(error) == 400


def test_pull_request_conflicts_and_pushes_by_others(api: HfApi, bob: HfApi):
    repo = api.create_repo("pr-conflict").repo_id
    api.create_commit(repo, [CommitOperationAdd("a.txt", b"one\n")], commit_message="Start")
    api.create_commit(
        repo, [CommitOperationAdd("a.txt", b"one\nmine\n")], commit_message="Mine", create_pr=True
    )
    with pytest.raises(HfHubHTTPError) as error:  # neither its author nor a writer
        bob.create_commit(
            repo, [CommitOperationAdd("x.txt", b"x")], commit_message="Hijack", revision="refs/pr/1"
        )
    assert _status(error) == 403
    assert api.get_discussion_details(repo, 1).conflicting_files == []
    api.create_commit(
        repo, [CommitOperationAdd("a.txt", b"one\ntheirs\n")], commit_message="Theirs"
    )
    details = api.get_discussion_details(repo, 1)
    assert details.conflicting_files == ["a.txt"] and "+mine" in details.diff
    with pytest.raises(HfHubHTTPError) as error:
        api.merge_pull_request(repo, 1)
    assert _status(error) == 409
    assert api.get_discussion_details(repo, 1).status == "open"

    empty = api.create_pull_request(repo, title="Empty proposal")
    assert empty.num == 2 and empty.diff == "" and empty.git_reference == "refs/pr/2"
    assert api.repo_info(repo, revision="refs/pr/2").sha == api.repo_info(repo).sha


# -- who may do what ------------------------------------------------------------------------------


def test_permissions_follow_the_hub(api: HfApi, bob: HfApi, admin: HfApi, hub):
    repo = api.create_repo("acme/perms").repo_id  # bob is a read member of acme
    mine = bob.create_discussion(repo, title="Bob's question", description="From a reader")
    api.comment_discussion(repo, 1, "Alice answers")
    alice_comment = _comments(api.get_discussion_details(repo, 1))[1]

    with pytest.raises(HfHubHTTPError) as error:
        bob.edit_discussion_comment(repo, 1, alice_comment.id, "Bob rewrites Alice")
    assert _status(error) == 403
    with pytest.raises(HfHubHTTPError) as error, pytest.warns(UserWarning):
        bob.hide_discussion_comment(repo, 1, alice_comment.id)
    assert _status(error) == 403
    # the author of a discussion may rename, close and reopen it, and edit the opening comment
    assert (
        bob.rename_discussion(repo, 1, "Bob's better question").new_title == "Bob's better question"
    )
    assert bob.change_discussion_status(repo, 1, "closed").new_status == "closed"
    assert bob.change_discussion_status(repo, 1, "open").new_status == "open"
    assert bob.edit_discussion_comment(
        repo, 1, _comments(mine)[0].id, "From a reader, edited"
    ).edited
    # a writer (the site admin) may edit anyone's comment
    assert (
        admin.edit_discussion_comment(repo, 1, alice_comment.id, "Moderated").last_edited_by
        == "admin"
    )

    api.create_discussion(repo, title="Alice's own")
    with pytest.raises(HfHubHTTPError) as error:
        bob.rename_discussion(repo, 2, "Taken over")
    assert _status(error) == 403
    with pytest.raises(HfHubHTTPError) as error:
        bob.change_discussion_status(repo, 2, "closed")
    assert _status(error) == 403

    api.create_pull_request(repo, title="A proposal")
    with pytest.raises(HfHubHTTPError) as error:
        bob.merge_pull_request(repo, 3)
    assert _status(error) == 403
    with pytest.raises(HfHubHTTPError) as error:
        api.merge_pull_request(repo, 2)  # not a pull request
    assert _status(error) == 400

    reader = HfApi(endpoint=hub.endpoint, token=hub.tokens["alice_read"])
    for attempt in (
        lambda: reader.comment_discussion(repo, 1, "read token"),
        lambda: reader.create_discussion(repo, title="read token"),
    ):
        with pytest.raises(HfHubHTTPError) as error:
            attempt()
        assert _status(error) == 403
    with pytest.raises(RepositoryNotFoundError) as error:  # anonymous: the Hub's 401
        HfApi(endpoint=hub.endpoint, token=False).comment_discussion(repo, 1, "anonymous")
    assert _status(error) == 401


def test_missing_discussions_and_comments_are_404(api: HfApi, hub):
    repo = api.create_repo("missing-bits").repo_id
    api.create_discussion(repo, title="One")
    api.create_discussion(repo, title="Two")
    other_comment = _comments(api.get_discussion_details(repo, 2))[0].id
    for attempt in (
        lambda: api.comment_discussion(repo, 9, "nobody home"),
        lambda: api.get_discussion_details(repo, 9),
        lambda: api.rename_discussion(repo, 9, "No such"),
        lambda: api.edit_discussion_comment(repo, 1, "0" * 24, "no such comment"),
        lambda: api.edit_discussion_comment(repo, 1, "not-an-id", "no such comment"),
        lambda: api.edit_discussion_comment(repo, 1, other_comment, "comment of #2"),
    ):
        with pytest.raises(HfHubHTTPError) as error:
            attempt()
        assert _status(error) == 404
    title_event = api.rename_discussion(repo, 1, "One renamed").id  # not a comment
    assert (
        _post(
            hub,
            f"/api/models/{repo}/discussions/1/comment/{title_event}/edit",
            "alice",
            {"content": "x"},
        ).status_code
        == 404
    )
    for body in ({"comment": ""}, {"comment": "   "}, {"comment": 5}, {}):
        assert (
            _post(hub, f"/api/models/{repo}/discussions/1/comment", "alice", body).status_code
            == 400
        )
    for title in ("ab", "x" * 201):
        assert (
            _post(
                hub, f"/api/models/{repo}/discussions", "alice", {"title": title, "description": ""}
            ).status_code
            == 400
        )


def test_private_repository_discussions_answer_like_missing_ones(api: HfApi, bob: HfApi, hub):
    repo = api.create_repo("secret-talks", private=True).repo_id
    api.create_discussion(repo, title="Internal")
    assert [d.title for d in api.get_repo_discussions(repo)] == ["Internal"]
    anonymous = HfApi(endpoint=hub.endpoint, token=False)
    for client, status in ((bob, 404), (anonymous, 401)):
        for attempt in (
            lambda client=client: list(client.get_repo_discussions(repo)),
            lambda client=client: client.get_discussion_details(repo, 1),
            lambda client=client: client.comment_discussion(repo, 1, "let me in"),
            lambda client=client: client.create_discussion(repo, title="Let me in"),
        ):
            with pytest.raises(RepositoryNotFoundError) as error:
                attempt()
            assert _status(error) == status
    for suffix in ("/discussions", "/discussions/1"):
        hidden = _raw(hub, f"/api/models/{repo}{suffix}", "bob")
        missing = _raw(hub, f"/api/models/alice/never-existed{suffix}", "bob")
        assert (hidden.status_code, hidden.headers["X-Error-Code"], hidden.json()) == (
            missing.status_code,
            missing.headers["X-Error-Code"],
            missing.json(),
        )


# -- the hf CLI -----------------------------------------------------------------------------------


def _hf(hub, home: Path, token: str, *args: str) -> str:
    env = {
        **os.environ,
        "HF_ENDPOINT": hub.endpoint,
        "HF_HOME": str(home),
        "HF_TOKEN": hub.tokens[token],
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        "NO_COLOR": "1",
    }
    result = subprocess.run(
        [str(BIN / "hf"), "discussions", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, (
        f"hf discussions {args} failed:\n{result.stdout}\n{result.stderr}"
    )
    return result.stdout


def test_hf_discussions_cli(api: HfApi, hub, tmp_path: Path):
    repo = api.create_repo("cli-talk").repo_id
    api.create_commit(repo, [CommitOperationAdd("a.txt", b"one\n")], commit_message="Start")
    home = tmp_path / "home"

    created = json.loads(
        _hf(
            hub,
            home,
            "alice",
            "create",
            repo,
            "--title",
            "From the CLI",
            "--body",
            "CLI body",
            "--format",
            "json",
        )
    )
    assert created["num"] == 1 and created["url"].endswith(f"/{repo}/discussions/1")
    _hf(hub, home, "bob", "comment", repo, "1", "--body", "A CLI comment")
    info = json.loads(_hf(hub, home, "alice", "info", repo, "1", "--format", "json"))
    assert info["title"] == "From the CLI" and [e["content"] for e in info["events"]] == [
        "CLI body",
        "A CLI comment",
    ]
    comment_id = info["events"][1]["id"]
    _hf(hub, home, "bob", "edit", repo, "1", comment_id, "--body", "An edited CLI comment")
    _hf(hub, home, "alice", "rename", repo, "1", "Renamed from the CLI")
    _hf(hub, home, "alice", "close", repo, "1", "--comment", "Closing from the CLI", "--yes")
    closed = api.get_discussion_details(repo, 1)
    assert closed.status == "closed" and closed.title == "Renamed from the CLI"
    assert [c.content for c in _comments(closed)] == [
        "CLI body",
        "An edited CLI comment",
        "Closing from the CLI",
    ]
    listed = json.loads(
        _hf(hub, home, "alice", "list", repo, "--status", "closed", "--format", "json")
    )
    assert [(d["num"], d["status"]) for d in listed] == [(1, "closed")]
    assert (
        json.loads(_hf(hub, home, "alice", "list", repo, "--format", "json")) == []
    )  # open ones by default
    _hf(hub, home, "alice", "reopen", repo, "1", "--yes")
    assert api.get_discussion_details(repo, 1).status == "open"

    pr = json.loads(
        _hf(
            hub,
            home,
            "alice",
            "create",
            repo,
            "--title",
            "CLI proposal",
            "--pr",
            "--format",
            "json",
        )
    )
    assert pr["num"] == 2 and pr["ref"] == "refs/pr/2"
    api.create_commit(
        repo,
        [CommitOperationAdd("a.txt", b"one\ntwo\n")],
        commit_message="Two",
        revision="refs/pr/2",
    )
    diff = _hf(hub, home, "alice", "diff", repo, "2")
    assert "diff --git a/a.txt b/a.txt" in diff and "+two" in diff
    prs = json.loads(
        _hf(hub, home, "alice", "list", repo, "--kind", "pull_request", "--format", "json")
    )
    assert [d["num"] for d in prs] == [2]
    _hf(hub, home, "alice", "merge", repo, "2", "--comment", "Merging from the CLI", "--yes")
    assert api.get_discussion_details(repo, 2).status == "merged"
    assert Path(api.hf_hub_download(repo, "a.txt")).read_text() == "one\ntwo\n"
    assert api.list_repo_commits(repo)[0].title == "Two"
    merged = json.loads(
        _hf(hub, home, "alice", "list", repo, "--status", "merged", "--format", "json")
    )
    assert [d["num"] for d in merged] == [2]
