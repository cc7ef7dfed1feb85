"""Tables a user might bring: their own column names, an id column, categoricals and gaps.

Generated (seeded), so the tests see data that no sample or benchmark of ours uses; `shuffled`
takes the signal away while keeping every value, for the quality gate's refusals.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

REGIONS = ("north", "south", "east", "west")
PLANS = ("basic", "pro", "enterprise")


def customers(rows: int = 600, seed: int = 0) -> pd.DataFrame:
    """A CRM export: `customer_id`, two categoricals, numbers with gaps, yearly `revenue` in
    the thousands and a `churned` yes/no label, both driven by the features plus noise."""
    rng = np.random.default_rng(seed)
    region = rng.choice(REGIONS, rows)
    plan = rng.choice(PLANS, rows, p=[0.5, 0.35, 0.15])
    tenure = rng.integers(1, 120, rows)
    spend = rng.gamma(4.0, 50.0, rows).round(2)
    tickets = rng.poisson(2.0, rows)
    plan_value = pd.Series(plan).map({"basic": 0.0, "pro": 1500.0, "enterprise": 6000.0})
    revenue = (12 * spend + 25 * tenure + plan_value.to_numpy() - 150 * tickets
               + np.where(region == "west", 800.0, 0.0) + rng.normal(0, 600, rows))
    churn_score = 0.4 * tickets - 0.03 * tenure - 0.8 * (plan != "basic") + rng.normal(0, 0.7,
                                                                                     rows)
    frame = pd.DataFrame({
        "customer_id": [f"C{seed:02d}-{i:05d}" for i in range(rows)],
        "region": region, "plan": plan, "tenure_months": tenure, "monthly_spend": spend,
        "support_tickets": tickets, "revenue": revenue.round(2),
        "churned": np.where(churn_score > np.median(churn_score), "yes", "no")})
    frame.loc[rng.choice(rows, rows // 25, replace=False), "monthly_spend"] = np.nan
    frame.loc[rng.choice(rows, rows // 40, replace=False), "region"] = np.nan
    return frame


def shops(stores: tuple[str, ...] = ("Harbour Street", "Old Town"), rows_per_store: int = 150,
          seed: int = 1) -> pd.DataFrame:
    """Daily sales per shop (`shop`), each shop with its own effect of the features."""
    rng = np.random.default_rng(seed)
    frames = []
    for number, store in enumerate(stores):
        footfall = rng.integers(200, 2000, rows_per_store)
        promo = rng.choice(["none", "flyer", "discount"], rows_per_store)
        temperature = rng.normal(15, 8, rows_per_store).round(1)
        lift = pd.Series(promo).map({"none": 0.0, "flyer": 300.0, "discount": 900.0})
        units = ((2.0 + number) * footfall + lift.to_numpy() - 20 * np.abs(temperature - 18)
                 + rng.normal(0, 150, rows_per_store))
        frames.append(pd.DataFrame({"shop": store, "footfall": footfall, "promotion": promo,
                                    "temperature": temperature, "units_sold": units.round(1)}))
    return pd.concat(frames, ignore_index=True)


def shuffled(frame: pd.DataFrame, column: str, seed: int = 3) -> pd.DataFrame:
    """The same table with `column` permuted: same values, no relation to the features."""
    out = frame.copy()
    out[column] = np.random.default_rng(seed).permutation(out[column].to_numpy())
    return out


def write(frame: pd.DataFrame, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return path
