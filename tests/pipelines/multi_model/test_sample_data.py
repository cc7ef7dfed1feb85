"""The synthetic houses: the seed's distributions and formula, plus real per-city effects."""
from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from pipelines.multi_model import sample_data
from pipelines.multi_model.sample_data import (
    DEFAULT_CITIES,
    NOISE_SD,
    city_coefficients,
    city_price,
    sample_csv,
    sample_frame,
)


@pytest.fixture(scope="module")
def default_frame() -> pd.DataFrame:
    return sample_frame()


class TestShape:
    def test_default_is_the_seeds_ten_cities_with_1000_houses_each(self, default_frame):
        assert list(default_frame["city"].unique()) == list(DEFAULT_CITIES)
        assert default_frame.groupby("city").size().tolist() == [1000] * 10
        assert list(default_frame.columns) == ["city", *sample_data.FEATURES, "price"]

    def test_csv_reads_back_as_the_frame(self):
        frame = pd.read_csv(io.BytesIO(sample_csv(["Oslo", "Lima"], 50, seed=3)))
        expected = sample_frame(["Oslo", "Lima"], 50, seed=3)
        pd.testing.assert_frame_equal(frame, expected, check_dtype=False)

    def test_any_number_of_cities(self):
        cities = [f"Town {n}" for n in range(25)]
        frame = sample_frame(cities, houses_per_city=4)
        assert frame.groupby("city", sort=False).size().to_dict() == dict.fromkeys(cities, 4)


class TestDistributions:
    def test_feature_distributions_follow_the_seed(self, default_frame):
        f = default_frame
        assert f["square_feet"].mean() == pytest.approx(3000, abs=40)
        assert f["square_feet"].std() == pytest.approx(750, rel=0.05)
        assert set(f["num_bedrooms"]) == {2, 3, 4, 5, 6}
        assert set(f["num_bathrooms"]) == {1.0, 1.5, 2.0, 2.5, 3.0}
        assert set(f["garage_spaces"]) == {0, 1, 2, 3}
        assert f["lot_acres"].mean() == pytest.approx(1.0, abs=0.02)
        assert f["lot_acres"].std() == pytest.approx(0.25, rel=0.06)
        assert f["year_built"].max() == 2019
        assert f["year_built"].median() == pytest.approx(1995, abs=1)
        assert set(f["deck"]) == set(f["front_porch"]) == {"yes", "no"}
        assert (f["deck"] == "yes").mean() == pytest.approx(0.4, abs=0.03)
        assert (f["front_porch"] == "yes").mean() == pytest.approx(0.6, abs=0.03)

    def test_prices_are_the_documented_formula_plus_noise(self, default_frame):
        for city, rows in default_frame.groupby("city"):
            residual = rows["price"] - city_price(rows, city_coefficients(city))
            assert abs(residual.mean()) < 1_500, city
            assert residual.std() == pytest.approx(NOISE_SD, rel=0.1), city


class TestCityEffects:
    def test_coefficients_are_a_pure_function_of_the_name_and_in_range(self):
        for city in DEFAULT_CITIES:
            c = city_coefficients(city)
            assert c == city_coefficients(city)
            assert 0.7 <= c.multiplier <= 1.8 and -30 <= c.sqft_premium <= 100
            assert 5_000 <= c.deck_value <= 30_000 and 2_000 <= c.porch_value <= 20_000
        assert len({city_coefficients(c) for c in DEFAULT_CITIES}) == len(DEFAULT_CITIES)

    def test_the_same_house_costs_differently_per_city(self, default_frame):
        houses = default_frame.iloc[:200]
        prices = {city: city_price(houses, city_coefficients(city)) for city in DEFAULT_CITIES}
        spread = np.ptp(np.vstack(list(prices.values())), axis=0)
        assert spread.min() > 50_000

    def test_per_city_slopes_really_differ(self, default_frame):
        """A linear fit per city recovers each city's price per square foot."""
        for city, rows in default_frame.groupby("city"):
            c = city_coefficients(city)
            x = np.column_stack([np.ones(len(rows)), rows[["square_feet", "num_bedrooms",
                                 "num_bathrooms", "lot_acres", "garage_spaces", "year_built"]],
                                 rows["deck"] == "yes", rows["front_porch"] == "yes"])
            coef = np.linalg.lstsq(x.astype(float), rows["price"].to_numpy(), rcond=None)[0]
            assert coef[1] == pytest.approx(c.multiplier * (150 + c.sqft_premium), abs=3), city


class TestDeterminism:
    def test_same_seed_same_bytes_other_seed_other_rows(self):
        assert sample_csv(["A", "B"], 30, seed=1) == sample_csv(["A", "B"], 30, seed=1)
        assert sample_csv(["A", "B"], 30, seed=1) != sample_csv(["A", "B"], 30, seed=2)

    def test_a_citys_rows_do_not_depend_on_the_other_cities(self):
        alone = sample_frame(["Chicago"], 40).reset_index(drop=True)
        together = sample_frame(["Boston", "Chicago", "Austin"], 40)
        pd.testing.assert_frame_equal(
            together[together["city"] == "Chicago"].reset_index(drop=True), alone)


class TestBadArguments:
    @pytest.mark.parametrize("cities, houses, message", [
        ([], 10, "cities is empty"),
        (["A", "A"], 10, "repeat a name"),
        (["New York", "new york"], 10, "give the same id"),
        (["---"], 10, "no letters or digits"),
        (["A"], 0, "houses_per_city must be a positive integer, got 0"),
        (["A"], 2.5, "houses_per_city must be a positive integer"),
    ])
    def test_clear_errors(self, cities, houses, message):
        with pytest.raises(ValueError, match=message):
            sample_frame(cities, houses)
