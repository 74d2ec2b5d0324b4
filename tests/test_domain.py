"""Unit tests of the plain-Python rules (no server)."""

from __future__ import annotations

import base64
import json

import pytest

from hubstead.domain.commit_ops import AddFile, AddLfsFile, DeleteFile, DeleteFolder
from hubstead.domain.errors import BadRequest, InvalidName, InvalidPath
from hubstead.domain.hashing import git_blob_sha1
from hubstead.domain.lfs_pointer import LfsPointer, parse_pointer
from hubstead.domain.paths import validate_path
from hubstead.domain.repo_ids import RepoId, RepoType
from hubstead.domain.upload_policy import (
    is_ignored,
    lfs_patterns,
    looks_binary,
    matches_any,
    upload_mode,
)
from hubstead.protocols.schemas import parse_json_commit, parse_ndjson_commit


@pytest.mark.parametrize(
    "good",
    [
        "a",
        "a/b.txt",
        "deep/er/file.bin",
        "./x.txt",
        "weird name.txt",
        "ünï.txt",
        ".gitattributes",
        ".github/x",
        "a\\b",
        "folder/..\\..\\file",
    ],
)
def test_valid_paths(good):
    assert validate_path(good) == good.removeprefix("./")


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "/abs",
        "..",
        "../x",
        "a/../b",
        "a/./b",
        "a//b",
        ".git",
        ".git/config",
        "x/.git/y",
        "..\\ddd",
        "\\abs",
        "nul\x00",
    ],
)
def test_invalid_paths(bad):
    with pytest.raises(InvalidPath):
        validate_path(bad)


@pytest.mark.parametrize("name", ["bert-base", "gpt2", "a.b_c-d", "A1"])
def test_valid_repo_ids(name):
    assert str(RepoId.parse(f"user/{name}")) == f"user/{name}"


@pytest.mark.parametrize(
    "value",
    ["noslash", "a/b/c", "a/-b", "a/b--c", "a/b..c", "a/b.git", "a/" + "x" * 97, "a/b c", "/b"],
)
def test_invalid_repo_ids(value):
    with pytest.raises(InvalidName):
        RepoId.parse(value)


def test_repo_type_prefixes():
    assert RepoType.MODEL.url_prefix == "" and RepoType.DATASET.url_prefix == "datasets/"
    assert RepoType.parse(None) is RepoType.MODEL and RepoType.parse("dataset") is RepoType.DATASET
    assert RepoType.from_plural("spaces") is RepoType.SPACE


def test_git_blob_sha1_matches_git():
    assert git_blob_sha1(b"") == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"
    assert git_blob_sha1(b"hello\n") == "ce013625030ba8dba906f756967f9e9ca394464a"


def test_lfs_pointer_round_trip():
    pointer = LfsPointer("a" * 64, 123)
    assert parse_pointer(pointer.encode()) == pointer
    assert (
        parse_pointer(b"version https://git-lfs.github.com/spec/v1\noid sha256:xyz\nsize 1\n")
        is None
    )
    assert parse_pointer(b"plain text") is None


def test_parse_ndjson_commit():
    lines = [
        {
            "key": "header",
            "value": {"summary": "Upload", "description": "details", "parentCommit": "ABCDEF1"},
        },
        {
            "key": "file",
            "value": {
                "path": "a.txt",
                "content": base64.b64encode(b"hi").decode(),
                "encoding": "base64",
            },
        },
        {
            "key": "lfsFile",
            "value": {"path": "w.bin", "algo": "sha256", "oid": "b" * 64, "size": 10},
        },
        {"key": "lfsFile", "value": {"path": "copy.bin", "algo": "sha256", "oid": "b" * 64}},
        {"key": "deletedFile", "value": {"path": "old.txt"}},
        {"key": "deletedFolder", "value": {"path": "dir/"}},
    ]
    request = parse_ndjson_commit(b"\n".join(json.dumps(line).encode() for line in lines) + b"\n")
    assert request.header.summary == "Upload" and request.header.parent_commit == "abcdef1"
    assert request.header.message == "Upload\n\ndetails\n"
    assert request.operations == [
        AddFile("a.txt", b"hi"),
        AddLfsFile("w.bin", "b" * 64, 10),
        AddLfsFile("copy.bin", "b" * 64, None),
        DeleteFile("old.txt"),
        DeleteFolder("dir"),
    ]


def test_parse_json_commit_form():
    request = parse_json_commit(
        {
            "summary": "s",
            "files": [{"path": "a", "content": "text"}],
            "deletedFiles": [{"path": "b"}],
        }
    )
    assert request.operations == [AddFile("a", b"text"), DeleteFile("b")]


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{",
        b'{"key": "file", "value": {}}',
        b'{"key":"header","value":{"summary":"s"}}\n{"key":"file","value":{"path":"../x","content":""}}',
    ],
)
def test_parse_ndjson_errors(body):
    with pytest.raises((BadRequest, InvalidPath)):
        parse_ndjson_commit(body)


def test_upload_policy():
    patterns = lfs_patterns(
        "*.bin filter=lfs diff=lfs merge=lfs -text\n# *.txt filter=lfs\nsaved_model/**/* filter=lfs\n"
    )
    assert patterns == ["*.bin", "saved_model/**/*"]
    assert upload_mode("w.bin", 10, b"text", patterns) == "lfs"
    assert upload_mode("sub/w.bin", 10, b"text", patterns) == "lfs"
    assert upload_mode("saved_model/v1/x.pb", 10, b"text", patterns) == "lfs"
    assert upload_mode("notes.txt", 10, b"text", patterns) == "regular"
    assert upload_mode("notes.txt", 20 * 1024 * 1024, b"text", patterns) == "lfs"
    assert upload_mode("data.dat", 10, b"\x00\x01", patterns) == "lfs"
    assert upload_mode("empty.bin", 0, b"", patterns) == "regular"
    assert not looks_binary("héllo".encode()[:2])  # a cut multibyte character is still text
    assert matches_any("a/b/c.txt", ["a/**"]) and matches_any("a/b/c.txt", ["a/b/*.txt"])
    assert not matches_any("b/c.txt", ["a/**"])


def test_gitignore():
    rules = "*.log\n!keep.log\nbuild/\n"
    assert is_ignored("debug.log", rules) and is_ignored("sub/x.log", rules)
    assert not is_ignored("keep.log", rules)
    assert is_ignored("build/out.bin", rules)
    assert not is_ignored("build", rules)
    assert not is_ignored("src/main.py", rules)


def test_reserved_account_names(tmp_path):
    from hubstead.services.accounts import AccountService
    from hubstead.storage.database import Database

    db = Database(f"sqlite:///{tmp_path / 'a.db'}")
    db.migrate()
    accounts = AccountService(db)
    for name in ("api", "datasets", "Spaces"):
        with pytest.raises(BadRequest, match="reserved"):
            accounts.create_user(name)
    with pytest.raises(BadRequest, match="reserved"):
        accounts.create_org("models", [])
    assert accounts.create_user("dataset-team").name == "dataset-team"
    db.dispose()
