"""How a record can end, besides success: the step fails, or there is nothing to answer.

The message's own errors quote what it holds, so their reasons are cut to one bounded line:
a megabyte-long field must not become a megabyte-long log line or failure reason.
"""
from __future__ import annotations

from steps.common.structure import bounded


class PermanentFailure(Exception):
    """Retrying cannot help: the step is failed with this reason and the record is not retried."""


class InvalidMessage(PermanentFailure):
    """The message is unusable but names its callback token, so the step can still be failed."""

    def __init__(self, reason: str, token: str):
        super().__init__(bounded(reason))
        self.token = token


class UnanswerableMessage(Exception):
    """The message names no usable callback token: it is logged and dropped, not retried."""

    def __init__(self, reason: str):
        super().__init__(bounded(reason))
