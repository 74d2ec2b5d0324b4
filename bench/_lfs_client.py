"""The LFS twin of tests/clients/xet_scenario.py for the benchmark: same scenarios, Xet disabled."""

import hashlib
import json
import sys

from huggingface_hub import HfApi, hf_hub_download
from huggingface_hub.utils._runtime import is_xet_available

assert not is_xet_available(), "run with HF_HUB_DISABLE_XET=1"
scenario, args = sys.argv[1], json.loads(sys.argv[2])
if scenario == "upload_file":
    info = HfApi().upload_file(
        path_or_fileobj=args["path"], path_in_repo=args["path_in_repo"], repo_id=args["repo"]
    )
    print(json.dumps({"oid": info.oid}))
elif scenario == "download":
    path = hf_hub_download(args["repo"], args["filename"], cache_dir=args["cache"])
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    print(json.dumps({"sha256": digest.hexdigest()}))
