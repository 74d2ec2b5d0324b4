"""One hf_xet scenario, run in its own process (a client abort then fails one test, not the run).

Usage: python xet_scenario.py SCENARIO JSON_ARGS; prints one JSON line with the results.
HF_ENDPOINT, HF_TOKEN and HF_HOME come from the environment; Xet is used unless
HF_HUB_DISABLE_XET=1 is set there. Runs with every tested huggingface_hub, 0.36 on (the older
clients' virtualenvs in .venv-clients/ run it too), so it uses only API common to all of them.
"""

import hashlib
import importlib.metadata
import json
import os
import sys
from pathlib import Path


def wchar() -> int:
    """Bytes this process has written with write/send syscalls so far: an upper bound of what it
    sent over the network (disk writes count too)."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("wchar:"):
            return int(line.split()[1])
    raise RuntimeError("no /proc/self/io")


def sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def main() -> None:
    import huggingface_hub
    from huggingface_hub import HfApi, HfFileSystem, hf_hub_download, snapshot_download
    from huggingface_hub.utils._runtime import is_xet_available

    xet_wanted = os.environ.get("HF_HUB_DISABLE_XET") != "1"
    assert is_xet_available() == xet_wanted, (
        "hf_xet must be installed, and used unless HF_HUB_DISABLE_XET=1"
    )
    scenario, args = sys.argv[1], json.loads(sys.argv[2])
    api = HfApi()
    result: dict = {}
    if scenario == "upload_folder":
        before = wchar()
        info = api.upload_folder(
            folder_path=args["folder"],
            repo_id=args["repo"],
            commit_message=args.get("message", "upload"),
        )
        result = {"oid": info.oid, "written": wchar() - before}
    elif scenario == "upload_file":
        before = wchar()
        info = api.upload_file(
            path_or_fileobj=args["path"],
            path_in_repo=args["path_in_repo"],
            repo_id=args["repo"],
            create_pr=args.get("create_pr", False),
        )
        result = {"oid": info.oid, "written": wchar() - before, "pr_url": info.pr_url}
    elif scenario == "download":
        path = hf_hub_download(
            args["repo"], args["filename"], revision=args.get("revision"), cache_dir=args["cache"]
        )
        result = {"sha256": sha256(path)}
    elif scenario == "snapshot":
        folder = Path(snapshot_download(args["repo"], cache_dir=args["cache"]))
        result = {
            "files": {
                str(p.relative_to(folder)): sha256(str(p)) for p in folder.rglob("*") if p.is_file()
            }
        }
    elif scenario == "fs_ranges":
        fs = HfFileSystem(skip_instance_cache=True)
        reads = []
        with fs.open(
            f"{args['repo']}/{args['filename']}", "rb", block_size=args.get("block_size", 65536)
        ) as remote:
            for start, length in args["ranges"]:
                remote.seek(start)
                reads.append(hashlib.sha256(remote.read(length)).hexdigest())
        result = {"reads": reads}
    elif scenario == "api":
        info = api.model_info(args["repo"])
        result = {
            "sha": info.sha,
            "siblings": sorted(s.rfilename for s in info.siblings or []),
            "files": sorted(api.list_repo_files(args["repo"])),
            "models": [m.id for m in api.list_models(author=args["repo"].split("/")[0])],
        }
    else:
        raise SystemExit(f"unknown scenario {scenario}")
    result["client"] = huggingface_hub.__version__
    result["hf_xet"] = importlib.metadata.version("hf_xet")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
