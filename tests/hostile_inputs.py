"""Hypothesis strategies for hostile input at the edges: JSON of any shape, deep nesting, text.

Shared by the property tests of every parser (SQS message, request bodies, CLI arguments,
mapping documents). `settings` keeps the example counts modest so the suite stays fast;
`pytest --hypothesis-show-statistics` prints how many inputs each test ran.
"""
from __future__ import annotations

import json

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st

# Deterministic (derandomize) so CI runs the same inputs every time; no deadline because the
# machine is shared and a slow example is not a failure.
_PHASES = [Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink]  # no slow "explain"
FAST = settings(max_examples=150, deadline=None, derandomize=True, phases=_PHASES,
                suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=25, deadline=None, derandomize=True, phases=_PHASES,
                suppress_health_check=[HealthCheck.too_slow,
                                       HealthCheck.function_scoped_fixture])

MESSAGE_BOUND = 1000  # no refusal's message may be longer, whatever the input

scalars = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True)
           | st.text(max_size=30))
json_values = st.recursive(scalars, lambda children: st.lists(children, max_size=4)
                           | st.dictionaries(st.text(max_size=10), children, max_size=4),
                           max_leaves=20)


@st.composite
def deep_nesting(draw: st.DrawFn) -> str:
    """JSON text nested far past any limit: `[[[...]]]`, `{"a": {"a": ...}}` or a mix."""
    depth = draw(st.sampled_from([65, 200, 1_000, 5_000, 100_000]))
    kind = draw(st.sampled_from(["list", "object", "mixed"]))
    if kind == "list":
        return "[" * depth + "]" * depth
    if kind == "object":
        return '{"a": ' * depth + "1" + "}" * depth
    return '{"a": [' * (depth // 2) + "1" + "]}" * (depth // 2)


@st.composite
def nested_inside(draw: st.DrawFn, document: dict) -> str:
    """`document` as JSON with one of its values replaced by deep nesting."""
    key = draw(st.sampled_from(sorted(document)))
    marker = "\u0000DEEP\u0000"
    text = json.dumps({**document, key: marker})
    return text.replace(json.dumps(marker), draw(deep_nesting()))


def any_text() -> st.SearchStrategy[str]:
    """Arbitrary text, JSON of any shape, or deeply nested JSON."""
    return st.one_of(st.text(max_size=200), json_values.map(json.dumps), deep_nesting())
