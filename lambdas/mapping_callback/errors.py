"""How a record can end, besides success: the step fails, or there is nothing to answer."""
from __future__ import annotations


class PermanentFailure(Exception):
    """Retrying cannot help: the step is failed with this reason and the record is not retried."""


class InvalidMessage(PermanentFailure):
    """The message is unusable but names its callback token, so the step can still be failed."""

    def __init__(self, reason: str, token: str):
        super().__init__(reason)
        self.token = token


class UnanswerableMessage(Exception):
    """The message names no usable callback token: it is logged and dropped, not retried."""
