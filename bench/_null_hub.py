"""A hub that does nothing but answer: the floor of the Xet benchmark.

It speaks just enough of the Hub's upload flow for `HfApi.upload_file` through hf_xet (preupload,
the Xet write token, the CAS's xorb and shard uploads, the commit) and keeps nothing: a xorb body
is read and dropped, a shard is accepted unread. An upload to it costs the client what it costs
against any server, and the server nearly nothing, so its time is what the client alone needs on
this machine: no server can make an upload faster than that.

Usage (by bench_xet.py): python bench/_null_hub.py PORT
"""

from __future__ import annotations

import json
import sys
import time

import granian
from granian.constants import Interfaces


async def _body(receive) -> int:
    size, more = 0, True
    while more:
        message = await receive()
        size += len(message.get("body", b""))
        more = message.get("more_body", False)
    return size


async def app(scope, receive, send) -> None:
    if scope["type"] != "http":
        return
    path, method = scope["path"], scope["method"]
    await _body(receive)
    host = dict(scope["headers"]).get(b"host", b"127.0.0.1").decode()
    base = f"http://{host}"
    status, answer, headers = 404, {"error": "not here"}, []
    if path.endswith("/preupload/main"):
        status, answer = (
            200,
            {"files": [{"path": "weights.bin", "uploadMode": "lfs", "shouldIgnore": False}]},
        )
    elif "/xet-write-token/" in path:
        expires = int(time.time()) + 3600
        status, answer = 200, {"casUrl": f"{base}/cas", "accessToken": "null", "exp": expires}
        headers = [
            (b"x-xet-cas-url", f"{base}/cas".encode()),
            (b"x-xet-access-token", b"null"),
            (b"x-xet-token-expiration", str(expires).encode()),
        ]
    elif path.startswith("/cas/v1/xorbs/") and method == "POST":
        status, answer = 200, {"was_inserted": True}
    elif path == "/cas/v1/shards" and method == "POST":
        status, answer = 200, {"result": 1}
    elif path.endswith("/commit/main") and method == "POST":
        status, answer = (
            200,
            {
                "success": True,
                "commitOid": "0" * 40,
                "commitUrl": f"{base}/alice/x/commit/{'0' * 40}",
                "commitMessage": "",
                "hookOutput": "",
            },
        )
    body = json.dumps(answer).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), *headers],
        }
    )
    await send({"type": "http.response.body", "body": body})


if __name__ == "__main__":
    granian.Granian(
        "_null_hub:app",
        address="127.0.0.1",
        port=int(sys.argv[1]),
        interface=Interfaces.ASGI,
        log_level="warning",
    ).serve()
