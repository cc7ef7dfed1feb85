"""umap_transform.transform equals UMAP.transform to the bit, for both neighbour searches (all
distances below 4,096 fitted rows, the index's query above), on random and generated inputs;
inputs UMAP.transform refuses are refused the same way."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from steps.sequential_topics import topic_model

topic_model.set_numba_cache()
from umap import UMAP  # noqa: E402 (after the numba cache is set)

from steps.sequential_topics import umap_transform  # noqa: E402

pytestmark = pytest.mark.integration

WIDTH = 24


def clustered(rows: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(6, WIDTH))
    return (centres[rng.integers(0, 6, rows)] + 0.3 * rng.normal(size=(rows, WIDTH))
            ).astype(np.float32)


def fitted(**options) -> UMAP:
    """A UMAP as topic_model.build_reducer makes it (cosine, seeded, low memory)."""
    model = UMAP(n_neighbors=10, n_components=5, min_dist=0.0, metric="cosine",
                 random_state=42, low_memory=True, **options)
    return model.fit(clustered(240, seed=1))


@pytest.fixture(scope="module", params=["all distances", "index query"])
def prepared(request) -> umap_transform.PreparedUmap:
    model = fitted(force_approximation_algorithm=request.param == "index query")
    assert model._small_data == (request.param == "all distances")
    result = umap_transform.prepare(model)
    assert result is not None
    return result


def same(prepared: umap_transform.PreparedUmap, x: np.ndarray) -> bool:
    expected = prepared.umap.transform(x)
    return np.array_equal(umap_transform.transform(prepared, x), expected, equal_nan=True)


@pytest.mark.parametrize("rows", [1, 2, 17, 80])
def test_new_points_land_where_umap_puts_them(prepared, rows):
    assert same(prepared, clustered(rows, seed=rows))


def test_training_points_duplicates_and_a_zero_vector(prepared):
    training = prepared.umap._raw_data
    x = np.vstack([training[:3], training[:3], np.zeros((1, WIDTH), np.float32),
                   clustered(4, seed=9)[[0, 0, 1]]])
    assert same(prepared, x)


def test_the_training_matrix_itself_is_answered_like_umap(prepared):
    assert same(prepared, prepared.umap._raw_data.copy())  # UMAP's input-hash short cut


@settings(max_examples=25, deadline=None, derandomize=True)
@given(x=hnp.arrays(np.float32, st.tuples(st.integers(1, 5), st.just(WIDTH)),
                    elements=st.floats(-1e3, 1e3, width=32)),
       y=hnp.arrays(np.float32, st.tuples(st.integers(1, 9), st.just(WIDTH)),
                    elements=st.floats(-1e3, 1e3, width=32)))
def test_cosine_distances_are_the_metrics_own(x, y):
    from sklearn.metrics import pairwise_distances
    from umap import distances

    expected = pairwise_distances(x, y, metric=distances.cosine)
    got = umap_transform.cosine_distances(x, np.ascontiguousarray(y.T),
                                          umap_transform.squared_norms(y))
    assert got.dtype == expected.dtype and np.array_equal(got, expected)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2**32 - 1), points=st.integers(1, 6))
def test_initial_positions_follow_umaps_sparse_graph(seed, points):
    """Neighbours not found (-1), zero and full (1.0) strengths, as UMAP's CSR graph reads them
    in init_graph_transform."""
    import scipy.sparse
    from umap.umap_ import init_graph_transform

    rng = np.random.default_rng(seed)
    k, fitted_rows = 6, 30
    indices = np.array([rng.choice(fitted_rows, k, replace=False) for _ in range(points)])
    indices[rng.random(indices.shape) < 0.2] = -1
    strengths = rng.random(points * k).astype(np.float32)
    strengths[rng.random(points * k) < 0.15] = 0.0
    strengths[rng.random(points * k) < 0.1] = 1.0
    strengths[indices.ravel() == -1] = 0.0  # as compute_membership_strengths leaves them
    embedding = rng.normal(size=(fitted_rows, 5)).astype(np.float32)
    rows = np.where(indices.ravel() == -1, 0, np.repeat(np.arange(points), k)).astype(np.int32)
    cols = np.where(indices.ravel() == -1, 0, indices.ravel()).astype(np.int32)
    graph = scipy.sparse.coo_matrix((strengths, (rows, cols)), shape=(points, fitted_rows))
    csr = graph.tocsr()
    csr.eliminate_zeros()
    expected = init_graph_transform(csr, embedding)
    columns, data, counts, distinct = umap_transform._graph_rows(indices, strengths)
    got = umap_transform._initial_positions(columns, data, counts,
                                            umap_transform._row_sums(data, counts), embedding)
    assert distinct and np.array_equal(got, expected, equal_nan=True)


def test_a_fixed_epoch_count_is_followed():
    prepared = umap_transform.prepare(fitted(n_epochs=60))
    assert same(prepared, clustered(5, seed=3))


@settings(max_examples=15, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(x=hnp.arrays(np.float32, st.tuples(st.integers(1, 12), st.just(WIDTH)),
                    elements=st.floats(-1e3, 1e3, width=32)))
def test_generated_points(prepared, x):
    assert same(prepared, x)


@pytest.mark.parametrize("bad", [
    np.full((2, WIDTH), np.nan, dtype=np.float32),
    np.ones(WIDTH, dtype=np.float32),
])
def test_what_umap_refuses_is_refused_the_same_way(prepared, bad):
    with pytest.raises(Exception) as expected:
        prepared.umap.transform(bad)
    with pytest.raises(type(expected.value)) as raised:
        umap_transform.transform(prepared, bad)
    assert str(raised.value) == str(expected.value)


@pytest.mark.parametrize("options", [{"metric": "euclidean"}, {"transform_seed": None}])
def test_models_it_does_not_reproduce_are_not_prepared(options):
    model = UMAP(n_neighbors=10, n_components=5, random_state=42,
                 **{"metric": "cosine", **options}).fit(clustered(60, seed=2))
    assert umap_transform.prepare(model) is None
