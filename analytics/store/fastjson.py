"""JSON on a conversation turn's path, with orjson: the sealed tracker, the journal's lines and
the tracker copy each custom action gets are serialised on every turn, and the standard
library's encoder was the largest single cost of a turn (py-spy, benchmarks/load.py).

What orjson cannot write (a number beyond 64 bits, a key that is not a string, NaN) goes
through :mod:`json` as before, so the output is the same data either way (compact separators,
UTF-8 rather than \\u escapes: any JSON reader reads both).
"""

from __future__ import annotations

import json
from typing import Any

import orjson


def dumps_bytes(value: Any) -> bytes:
    try:
        return orjson.dumps(value)
    except (TypeError, orjson.JSONEncodeError):
        return json.dumps(value).encode("utf-8")


def dumps(value: Any) -> str:
    return dumps_bytes(value).decode("utf-8")


def loads(data: str | bytes) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:  # NaN and Infinity, which json writes: json reads them
        return json.loads(data)


def copy(value: Any) -> Any:
    """A deep copy of JSON data (a tracker), several times faster than copy.deepcopy."""
    try:
        return orjson.loads(orjson.dumps(value))
    except (TypeError, orjson.JSONEncodeError):
        import copy as copy_module

        return copy_module.deepcopy(value)
