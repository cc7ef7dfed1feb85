"""Argument types for every command line of ours: the console scripts and the serve module.

Each turns text into a value or raises argparse's ArgumentTypeError with one line saying what
was expected and what arrived, so argparse prints `--flag: must be ...` and exits 2.
"""
from __future__ import annotations

import argparse
import re
from collections.abc import Callable

_SIZE = re.compile(r"(?P<number>[0-9]+)(?P<unit>|K|M|G|KiB|MiB|GiB)", re.IGNORECASE)
_UNITS = {"": 1, "k": 2**10, "kib": 2**10, "m": 2**20, "mib": 2**20, "g": 2**30, "gib": 2**30}


def whole_number(low: int, high: int | None = None) -> Callable[[str], int]:
    """A type for a whole number from `low` (to `high`, when given)."""
    bound = f"of at least {low}" if high is None else f"from {low} to {high}"

    def parse(text: str) -> int:
        value = int(text) if text.isdigit() else None
        if value is None or value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"must be a whole number {bound}, got {text!r}")
        return value

    parse.__name__ = f"whole_number_{bound.replace(' ', '_')}"
    return parse


positive = whole_number(1)
port = whole_number(0, 65535)


def byte_size(text: str) -> int:
    """'1048576', '512M', '2GiB' -> bytes (K, M, G are binary units)."""
    match = _SIZE.fullmatch(text.strip())
    if not match or int(match["number"]) < 1:
        raise argparse.ArgumentTypeError(f"must be a positive size in bytes like 1048576, 512M "
                                         f"or 2GiB, got {text!r}")
    return int(match["number"]) * _UNITS[match["unit"].lower()]


def comma_list(text: str) -> list[str]:
    """'a, b,c' -> ['a', 'b', 'c']; at least one item."""
    items = [item.strip() for item in text.split(",") if item.strip()]
    if not items:
        raise argparse.ArgumentTypeError("give one or more names separated by commas")
    return items
