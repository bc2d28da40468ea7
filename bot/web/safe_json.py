"""JSON from strangers: bounded nesting and bounded numbers, so a hostile body is a clear
client error instead of a ``RecursionError`` or a 50,000-digit integer being parsed."""

from __future__ import annotations

import json
import re
from typing import Any

# Carebot's own messages nest three or four levels (metadata, buttons, entities); 32 leaves
# room for any client and is far below the depth at which the parser recurses too deep.
MAX_DEPTH = 32
# Longer numbers are no id, amount or count a client sends; parsing them is quadratic.
MAX_NUMBER_CHARS = 100

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


class UnsafeJSON(ValueError):
    """Text that is not JSON a client may send; the message says what is wrong with it."""


def loads(text: str | bytes, *, max_depth: int = MAX_DEPTH,
          max_number_chars: int = MAX_NUMBER_CHARS) -> Any:
    """``json.loads`` that refuses deep nesting, huge numbers, NaN and Infinity (UnsafeJSON)."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise UnsafeJSON("is not valid UTF-8") from None
    _check_depth(text, max_depth)

    def number(kind):
        def parse(literal: str):
            if len(literal) > max_number_chars:
                raise UnsafeJSON(f"has a number of {len(literal)} characters; numbers may have "
                                 f"at most {max_number_chars}")
            return kind(literal)
        return parse

    def constant(name: str):
        raise UnsafeJSON(f"contains {name}, which is not JSON; send a number or null")

    try:
        return json.loads(text, parse_int=number(int), parse_float=number(float),
                          parse_constant=constant)
    except json.JSONDecodeError as exc:
        raise UnsafeJSON(f"is not valid JSON: {exc.msg} at position {exc.pos}") from None
    except RecursionError:  # only if max_depth was set above what the parser can take
        raise UnsafeJSON(f"nests deeper than {max_depth} levels") from None


def _check_depth(text: str, max_depth: int) -> None:
    """Count brackets outside strings; linear, and no recursion whatever the input."""
    depth = 0
    for match in _BRACKET.finditer(_STRING.sub('""', text)):
        if match.group() in "[{":
            depth += 1
            if depth > max_depth:
                raise UnsafeJSON(f"nests deeper than {max_depth} levels; flatten it")
        else:
            depth -= 1
