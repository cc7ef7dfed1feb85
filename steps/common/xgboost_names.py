"""Feature names XGBoost accepts, from the names users give their columns.

XGBoost refuses a feature name holding `[`, `]` or `<` (its model dump uses them), so a column
such as `size [m²]` or `age <18` stopped every training job. The names are only labels inside
the booster (features are matched by position), so these characters are swapped for look-alikes
and every other name is kept as it is: models trained before are read with the same names.
"""
from __future__ import annotations

from collections.abc import Sequence

_REPLACEMENTS = str.maketrans({"[": "(", "]": ")", "<": "\u2039"})  # ‹ for <


def xgboost_feature_names(names: Sequence[str]) -> list[str]:
    """`names` with XGBoost's forbidden characters replaced, still unique (a name the swap
    makes equal to another gets a ` #2`, ` #3`... suffix)."""
    taken = {str(name) for name in names}
    safe: list[str] = []
    for name in map(str, names):
        candidate = name.translate(_REPLACEMENTS)
        if candidate != name:
            base, count = candidate, 1
            while candidate in taken:
                count += 1
                candidate = f"{base} #{count}"
            taken.add(candidate)
        safe.append(candidate)
    return safe
