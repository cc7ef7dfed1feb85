"""Untrusted JSON-shaped input, parsed one way at every edge: bounded depth, string keys.

`json.loads` raises RecursionError on input nested a thousand levels deep, and a Python
literal may hold non-string keys (`{1: 2}`) or unhashable ones (TypeError). Neither is a
refusal: the SQS message is retried into the dead-letter queue, the request answers 500, the
CLI prints a traceback. Every edge parses through here and turns StructureError (a ValueError
with a one-line message) into its own refusal. No document of ours nests deeper than a few
levels, so MAX_DEPTH leaves room and still stays far from the interpreter's recursion limit.
"""
from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 64
MAX_MESSAGE = 300  # characters of a refusal's message; user input never makes one longer


class StructureError(ValueError):
    """The text is not JSON, or its value nests too deep or has a key that is not a string."""


def bounded(text: str, limit: int = MAX_MESSAGE) -> str:
    """`text` on one line and at most `limit` characters, the cut marked."""
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def load_json(text: str | bytes, max_depth: int = MAX_DEPTH) -> Any:
    """Parse JSON; raise StructureError for bad JSON, deep nesting or a bad key."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise StructureError(f"JSON nested deeper than {max_depth} levels") from None
    except json.JSONDecodeError as error:
        raise StructureError(f"not valid JSON ({error.msg} at line {error.lineno} column "
                             f"{error.colno})") from None
    except UnicodeDecodeError:
        raise StructureError("not valid JSON (the bytes are not UTF-8 text)") from None
    except ValueError as error:  # e.g. an integer of more than 4300 digits
        raise StructureError(f"not valid JSON ({bounded(str(error), 100)})") from None
    check_structure(value, max_depth)
    return value


def check_structure(value: Any, max_depth: int = MAX_DEPTH) -> None:
    """Walk `value` without recursion; StructureError names the first bad place."""
    stack: list[tuple[Any, int, str]] = [(value, 0, "")]
    while stack:
        item, depth, path = stack.pop()
        if not isinstance(item, (dict, list, tuple)):
            continue
        if depth >= max_depth:
            raise StructureError(f"nested deeper than {max_depth} levels (at "
                                 f"{bounded(path, 60) or 'top'})")
        if isinstance(item, dict):
            for key, child in item.items():
                if not isinstance(key, str):
                    raise StructureError(f"key {bounded(repr(key), 40)} at {path or 'top'} is "
                                         f"{type(key).__name__}, not a string")
                stack.append((child, depth + 1, f"{path}.{bounded(key, 40)}" if path else
                              bounded(key, 40)))
        else:
            stack.extend((child, depth + 1, f"{path}[{index}]")
                         for index, child in enumerate(item))
