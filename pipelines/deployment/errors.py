"""The two ways a deployment stops before it sends anything wrong.

`DeployUserError`: the input names nothing that exists or is malformed (exit 2).
`DeployRefused`: a valid request the current state does not allow, e.g. a package that is not
Approved or an endpoint deploy-model did not create (exit 1).
"""
from __future__ import annotations


class DeployUserError(Exception):
    """Bad input the person can fix; the message says how."""


class DeployRefused(Exception):
    """The registry's or the endpoint's state does not allow the request."""
