"""A fake library harness for self-tests: speaking the harness protocol, right or wrong by FAKE_HARNESS_MODE.

Modes: ``oracle`` (syntax.valid through atcheck's own validators; every other op unsupported), ``wrong``
(syntax.valid always true), ``dies`` (exits at the first request), ``garbage`` (writes a non-JSON line at the
first request), ``silent`` (never answers a request), ``not-ready`` (refuses to start), ``no-verdict``
(answers with none of result/unsupported/error).
"""

from __future__ import annotations

import json
import os
import sys

from atcheck.syntax import KINDS

MODE = os.environ.get("FAKE_HARNESS_MODE", "oracle")


def answer(request: dict[str, object]) -> dict[str, object]:
    rid = request.get("id")
    args = request.get("args")
    if request.get("op") != "syntax.valid" or not isinstance(args, dict):
        return {"id": rid, "unsupported": True}
    if MODE == "wrong":
        return {"id": rid, "result": True}
    if MODE == "no-verdict":
        return {"id": rid}
    valid = KINDS[str(args["kind"])](str(args["value"]))
    return {"id": rid, "result": True} if valid else {"id": rid, "error": "invalid"}


def main() -> int:
    for line in sys.stdin:
        request = json.loads(line)
        if request.get("cmd") == "start":
            if MODE == "not-ready":
                reply: dict[str, object] = {"ready": False, "reason": "the fake library is not installed"}
            else:
                impl = {"name": "fake", "language": "python", "version": "0", "libraries": {}}
                reply = {"ready": True, "implementation": impl}
        elif request.get("cmd") == "stop":
            return 0
        elif MODE == "dies":
            return 3
        elif MODE == "garbage":
            sys.stdout.write("this is not JSON\n")
            sys.stdout.flush()
            continue
        elif MODE == "silent":
            continue
        else:
            reply = answer(request)
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
