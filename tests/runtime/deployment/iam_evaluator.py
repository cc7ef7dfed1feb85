"""A small evaluator of IAM identity-policy semantics, enough for the target-model policy.

moto's IAM neither simulates policies (simulate_custom_policy is not implemented) nor
evaluates Resource or Condition, so the tests use this. Covered: Effect Allow/Deny,
Action and Resource (string or list, `*` and `?` wildcards; actions case-insensitive),
Condition operators StringEquals, StringNotEquals, StringLike, StringNotLike (and their
...IfExists forms): keys case-insensitive, values OR-ed, keys and operators AND-ed, a missing
key fails a positive operator and satisfies a negated one. Decision: an explicit Deny wins,
else any Allow, else implicit deny. Anything else in a policy raises, so a test cannot pass
on a shape this evaluator does not understand.
"""
from __future__ import annotations

import re

ALLOW, EXPLICIT_DENY, IMPLICIT_DENY = "Allow", "ExplicitDeny", "ImplicitDeny"
_STATEMENT_KEYS = {"Sid", "Effect", "Action", "Resource", "Condition"}
_OPERATORS = {"StringEquals": (False, False), "StringNotEquals": (False, True),
              "StringLike": (True, False), "StringNotLike": (True, True)}


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def wildcard_match(pattern: str, value: str, case_sensitive: bool = True) -> bool:
    """IAM glob: '*' any run of characters (slashes too), '?' exactly one."""
    if "${" in pattern:
        raise NotImplementedError(f"policy variables are not supported: {pattern!r}")
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    flags = re.DOTALL | (0 if case_sensitive else re.IGNORECASE)
    return re.fullmatch(regex, value, flags) is not None


def _condition_holds(condition: dict, context: dict[str, str]) -> bool:
    lowered = {k.lower(): v for k, v in context.items()}
    for operator, block in condition.items():
        base, if_exists = (operator[:-8], True) if operator.endswith("IfExists") else (operator,
                                                                                         False)
        if base not in _OPERATORS:
            raise NotImplementedError(f"condition operator {operator!r} is not supported")
        like, negated = _OPERATORS[base]
        for key, values in block.items():
            value = lowered.get(key.lower())
            if value is None:
                if if_exists or negated:
                    continue
                return False
            matched = any(wildcard_match(p, value) if like else p == value
                          for p in _as_list(values))
            if matched == negated:
                return False
    return True


def _applies(statement: dict, action: str, resource: str, context: dict[str, str]) -> bool:
    unknown = set(statement) - _STATEMENT_KEYS
    if unknown:
        raise NotImplementedError(f"statement keys {sorted(unknown)} are not supported")
    if not any(wildcard_match(a, action, case_sensitive=False)
               for a in _as_list(statement["Action"])):
        return False
    if not any(wildcard_match(r, resource) for r in _as_list(statement["Resource"])):
        return False
    return _condition_holds(statement.get("Condition", {}), context)


def evaluate(policy: dict, action: str, resource: str, context: dict[str, str]) -> str:
    """ALLOW, EXPLICIT_DENY or IMPLICIT_DENY for one request."""
    if policy.get("Version") != "2012-10-17":
        raise NotImplementedError("only policy Version 2012-10-17 is supported")
    effects = {s["Effect"] for s in _as_list(policy["Statement"])
               if _applies(s, action, resource, context)}
    if "Deny" in effects:
        return EXPLICIT_DENY
    return ALLOW if "Allow" in effects else IMPLICIT_DENY
