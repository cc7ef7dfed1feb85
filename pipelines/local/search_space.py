"""A tuning job's ParameterRanges and Strategy as optuna samplers and distributions.

Bayesian -> TPESampler, Random -> RandomSampler (both seeded with the config's RandomSeed,
default 0), Grid -> every point of the grid once. Logarithmic ranges are sampled in log
space; ReverseLogarithmic ranges in log space of (max - x).
"""
from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import optuna

SUPPORTED_STRATEGIES = ("Bayesian", "Random", "Grid")


@dataclass(frozen=True)
class Range:
    name: str
    kind: str  # Integer | Continuous | Categorical
    low: float = 0.0
    high: float = 0.0
    scaling: str = "Auto"
    values: tuple[str, ...] = ()

    def suggest(self, trial: optuna.Trial) -> str:
        """Sample a value and return it as the hyperparameter string a job receives."""
        if self.kind == "Categorical":
            return str(trial.suggest_categorical(self.name, list(self.values)))
        if self.scaling == "ReverseLogarithmic":
            span = self.high - self.low
            gap = trial.suggest_float(self.name + "__gap", span * 1e-6, span, log=True)
            value = self.high - gap
            return str(round(value) if self.kind == "Integer" else value)
        log = self.scaling == "Logarithmic"
        if self.kind == "Integer":
            return str(trial.suggest_int(self.name, int(self.low), int(self.high), log=log))
        return repr(trial.suggest_float(self.name, self.low, self.high, log=log))


def parse_ranges(ranges: Mapping[str, Any]) -> list[Range]:
    parsed = []
    for kind in ("Integer", "Continuous"):
        for item in ranges.get(f"{kind}ParameterRanges") or []:
            low, high = float(item["MinValue"]), float(item["MaxValue"])
            scaling = item.get("ScalingType", "Auto")
            if scaling in ("Logarithmic", "ReverseLogarithmic") and low <= 0:
                raise ValueError(f"range {item['Name']}: {scaling} scaling needs MinValue > 0")
            parsed.append(Range(item["Name"], kind, low, high, scaling))
    for item in ranges.get("CategoricalParameterRanges") or []:
        parsed.append(Range(item["Name"], "Categorical", values=tuple(map(str, item["Values"]))))
    return parsed


def make_sampler(strategy: str, seed: int) -> optuna.samplers.BaseSampler:
    if strategy == "Bayesian":
        return optuna.samplers.TPESampler(seed=seed)
    if strategy == "Random":
        return optuna.samplers.RandomSampler(seed=seed)
    raise ValueError(f"tuning strategy {strategy!r} is not supported locally "
                     f"(supported: {', '.join(SUPPORTED_STRATEGIES)})")


def grid_points(ranges: list[Range]) -> list[dict[str, str]]:
    """Every combination once: categorical values and every integer of integer ranges."""
    axes = []
    for item in ranges:
        if item.kind == "Categorical":
            axes.append([(item.name, v) for v in item.values])
        elif item.kind == "Integer":
            axes.append([(item.name, str(v)) for v in range(int(item.low), int(item.high) + 1)])
        else:
            raise ValueError(f"Grid strategy needs categorical or integer ranges; "
                             f"{item.name} is continuous")
    return [dict(point) for point in itertools.product(*axes)]


def is_finite(value: float) -> bool:
    return not (math.isnan(value) or math.isinf(value))
