"""Synthetic house prices per city: the seeds' houses, plus a per-city price effect.

Features follow seed 004: square_feet ~ N(3000, 750) (at least 600), num_bedrooms 2-6,
num_bathrooms 1-3 in halves, lot_acres ~ N(1.0, 0.25) (at least 0.1, 2 decimals),
garage_spaces 0-3, year_built ~ N(1995, 10) rounded and capped at 2019; plus seed 003's
categorical deck (yes with probability 0.4) and front_porch (yes with probability 0.6).

The seed's price has no city effect, so every city's model would be the same. Ours does:

    base  = 150 sqft + 10,000 bedrooms + 15,000 bathrooms + 15,000 lot_acres
            + 15,000 garages - 5,000 (2019 - year_built)                    (seed 004)
    price = multiplier x (base + sqft_premium x sqft + deck_value [deck = yes]
                          + porch_value [front_porch = yes]) + N(0, 10,000)

with each city's coefficients drawn from the SHA-256 of its name (`city_coefficients`), so they
are fixed for a name whatever other cities are generated: multiplier in [0.7, 1.8],
sqft_premium in [-30, 100] dollars per square foot, deck_value in [5,000, 30,000] and
porch_value in [2,000, 20,000] dollars. A city's rows come from a generator seeded with
(seed, city), so adding a city never changes another city's rows.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from steps.multi_model.contract import DEFAULT_SEGMENT_COLUMN, DEFAULT_TARGET_COLUMN, segment_ids

SEGMENT_COLUMN = DEFAULT_SEGMENT_COLUMN
TARGET_COLUMN = DEFAULT_TARGET_COLUMN
DEFAULT_CITIES = ("New York", "Los Angeles", "Chicago", "Houston", "Dallas", "Phoenix",
                  "Philadelphia", "San Antonio", "San Diego", "San Francisco")
FEATURES = ("year_built", "square_feet", "num_bedrooms", "num_bathrooms", "lot_acres",
            "garage_spaces", "deck", "front_porch")
CURRENT_YEAR = 2019
NOISE_SD = 10_000.0
DECK_SHARE = 0.4
PORCH_SHARE = 0.6


@dataclass(frozen=True)
class CityCoefficients:
    """One city's price effect (see the module docstring for the formula)."""

    multiplier: float
    sqft_premium: float
    deck_value: float
    porch_value: float


def _uniforms(city: str, count: int) -> list[float]:
    digest = hashlib.sha256(city.encode("utf-8")).digest()
    return [int.from_bytes(digest[4 * i:4 * i + 4], "big") / 2**32 for i in range(count)]


def city_coefficients(city: str) -> CityCoefficients:
    """The city's coefficients, a pure function of its name."""
    u = _uniforms(city, 4)
    return CityCoefficients(multiplier=round(0.7 + 1.1 * u[0], 4),
                            sqft_premium=round(-30.0 + 130.0 * u[1], 2),
                            deck_value=round(5_000.0 + 25_000.0 * u[2], 0),
                            porch_value=round(2_000.0 + 18_000.0 * u[3], 0))


def base_price(houses: pd.DataFrame) -> np.ndarray:
    """Seed 004's price formula (no city effect)."""
    return (150.0 * houses["square_feet"] + 10_000.0 * houses["num_bedrooms"]
            + 15_000.0 * houses["num_bathrooms"] + 15_000.0 * houses["lot_acres"]
            + 15_000.0 * houses["garage_spaces"]
            - 5_000.0 * (CURRENT_YEAR - houses["year_built"])).to_numpy()


def city_price(houses: pd.DataFrame, coefficients: CityCoefficients) -> np.ndarray:
    """The noiseless price of `houses` in a city with `coefficients`."""
    c = coefficients
    extras = (c.sqft_premium * houses["square_feet"].to_numpy()
              + c.deck_value * (houses["deck"] == "yes").to_numpy()
              + c.porch_value * (houses["front_porch"] == "yes").to_numpy())
    return c.multiplier * (base_price(houses) + extras)


def _houses(rng: np.random.Generator, count: int) -> pd.DataFrame:
    return pd.DataFrame({
        "year_built": np.minimum(np.rint(rng.normal(1995, 10, count)), CURRENT_YEAR).astype(int),
        "square_feet": np.maximum(np.rint(rng.normal(3000, 750, count)), 600).astype(int),
        "num_bedrooms": rng.integers(2, 7, count),
        "num_bathrooms": rng.integers(2, 7, count) / 2.0,
        "lot_acres": np.maximum(np.round(rng.normal(1.0, 0.25, count), 2), 0.1),
        "garage_spaces": rng.integers(0, 4, count),
        "deck": np.where(rng.random(count) < DECK_SHARE, "yes", "no"),
        "front_porch": np.where(rng.random(count) < PORCH_SHARE, "yes", "no"),
    })


def _city_seed(seed: int, city: str) -> list[int]:
    return [seed, int.from_bytes(hashlib.sha256(city.encode("utf-8")).digest()[:8], "big")]


def sample_frame(cities: list[str] | None = None, houses_per_city: int = 1000,
                 seed: int = 42) -> pd.DataFrame:
    """Columns city, the FEATURES, price (rounded to dollars); `houses_per_city` rows a city."""
    cities = list(DEFAULT_CITIES if cities is None else cities)
    if not cities:
        raise ValueError("cities is empty; pass at least one city name (or None for the "
                         "seed's ten)")
    if len(set(cities)) != len(cities):
        raise ValueError(f"cities {cities} repeat a name; pass each city once")
    segment_ids(cities)  # every name must give a distinct, valid segment id
    if isinstance(houses_per_city, bool) or not isinstance(houses_per_city, int) \
            or houses_per_city < 1:
        raise ValueError(f"houses_per_city must be a positive integer, got {houses_per_city!r}")
    frames = []
    for city in cities:
        rng = np.random.default_rng(_city_seed(seed, city))
        houses = _houses(rng, houses_per_city)
        price = city_price(houses, city_coefficients(city)) + rng.normal(0, NOISE_SD,
                                                                         houses_per_city)
        houses.insert(0, SEGMENT_COLUMN, city)
        houses[TARGET_COLUMN] = np.round(price, 0)
        frames.append(houses)
    return pd.concat(frames, ignore_index=True)


def sample_csv(cities: list[str] | None = None, houses_per_city: int = 1000,
               seed: int = 42) -> bytes:
    """sample_frame as UTF-8 CSV bytes with a header row."""
    return sample_frame(cities, houses_per_city, seed).to_csv(index=False).encode("utf-8")


__all__ = ["DEFAULT_CITIES", "FEATURES", "SEGMENT_COLUMN", "TARGET_COLUMN", "CityCoefficients",
           "city_coefficients", "city_price", "sample_csv", "sample_frame"]
