"""UMAP's transform for serving: `UMAP.transform`'s steps, with the library's own numba
functions, without its per-call Python overhead; the result equals `UMAP.transform`'s to the bit.

Profiled on the served three-layer model (600 sample documents, bench/serving_bench.py), most of
`UMAP.transform`'s time is not the model's maths: scikit-learn's `pairwise_distances` calls the
numba cosine distance from Python once per (document, training row) pair (85% of the time for
1,000 documents), `init_graph_transform` slices a sparse matrix in Python per document, and the
100 optimisation epochs are 100 numba calls from Python, each typing 27 arguments. Here:
- the distances are `umap.distances.cosine`'s arithmetic in one numba loop, the training rows'
  norms computed once, into the same float32 matrix scikit-learn fills;
- the fuzzy graph's rows (what `coo_matrix(...).tocsr()` and `eliminate_zeros()` leave of each
  point's neighbours: found, non-zero, by column) and the initial positions
  (`init_graph_transform`'s arithmetic, in its order) are numba loops, the row sums numpy's;
- the graph's pruning before the epochs is UMAP's rule on the same entries, in numpy;
- the epochs are one numba loop over UMAP's own epoch function, with UMAP's learning rate;
- the rest (`smooth_knn_dist`, `compute_membership_strengths`, `make_epochs_per_sample`, the
  nearest-neighbour index's `query` for models fitted on 4,096 rows or more) is called as
  `UMAP.transform` calls it.
A model this module does not reproduce (another metric, sparse or densMAP, a random transform
seed) is not prepared (`prepare` returns None), and an input that `UMAP.transform` would refuse or
short-circuit (not finite, another width, the training matrix itself) goes to `UMAP.transform`.
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np
from sklearn.utils import check_random_state
from umap.layouts import _nb_optimize_layout_euclidean_single_epoch as _epoch
from umap.umap_ import (
    INT32_MAX,
    INT32_MIN,
    compute_membership_strengths,
    make_epochs_per_sample,
    smooth_knn_dist,
)
from umap.utils import submatrix

SMALL_EPOCH_LIMIT = 10_000  # UMAP.transform: 100 epochs up to this many rows, else 30


@numba.njit(cache=True)
def squared_norms(y: np.ndarray) -> np.ndarray:
    """Each row's sum of squares as `umap.distances.cosine` sums it: float32 squares added in
    order to a float64."""
    out = np.empty(y.shape[0], dtype=np.float64)
    for j in range(y.shape[0]):
        total = 0.0
        for i in range(y.shape[1]):
            total += y[j, i] ** 2
        out[j] = total
    return out


@numba.njit(cache=True)
def cosine_distances(x: np.ndarray, y_t: np.ndarray, y_norms: np.ndarray) -> np.ndarray:
    """scikit-learn's `pairwise_distances(x, y, metric=umap.distances.cosine)` for float32 x
    and y (given as y.T and squared_norms(y)): every pair's dot product accumulates the same
    float32 products in the same order into a float64, so each value is cosine's; the
    training rows' sums run side by side (vectorised) instead of one long chain per pair.
    Stored in float32, as scikit-learn stores them."""
    out = np.empty((x.shape[0], y_t.shape[1]), dtype=np.float32)
    dots = np.empty(y_t.shape[1], dtype=np.float64)
    for row in range(x.shape[0]):
        norm_x = 0.0
        for i in range(x.shape[1]):
            norm_x += x[row, i] ** 2
        dots[:] = 0.0
        for i in range(x.shape[1]):
            value = x[row, i]
            for j in range(y_t.shape[1]):
                dots[j] += value * y_t[i, j]
        for j in range(y_t.shape[1]):
            norm_y = y_norms[j]
            if norm_x == 0.0 and norm_y == 0.0:
                out[row, j] = 0.0
            elif norm_x == 0.0 or norm_y == 0.0:
                out[row, j] = 1.0
            else:
                out[row, j] = 1.0 - (dots[j] / np.sqrt(norm_x * norm_y))
    return out


@numba.njit(cache=True)
def _graph_rows(indices: np.ndarray, strengths: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    """Each new point's row of UMAP's CSR graph (`coo.tocsr()` then `eliminate_zeros()`): its
    neighbours found (index != -1) with a non-zero strength, by column, padded; the counts;
    and whether every row's columns are distinct (else the matrix would have summed them)."""
    n, k = indices.shape
    columns = np.zeros((n, k), dtype=np.int64)
    data = np.zeros((n, k), dtype=np.float32)
    counts = np.zeros(n, dtype=np.int64)
    distinct = True
    for i in range(n):
        found = 0
        for j in range(k):
            if indices[i, j] != -1 and strengths[i * k + j] != 0:
                columns[i, found] = indices[i, j]
                data[i, found] = strengths[i * k + j]
                found += 1
        order = np.argsort(columns[i, :found])
        columns[i, :found] = columns[i, :found][order]
        data[i, :found] = data[i, :found][order]
        for j in range(1, found):
            distinct = distinct and columns[i, j] != columns[i, j - 1]
        counts[i] = found
    return columns, data, counts, distinct


@numba.njit(cache=True)
def _initial_positions(columns: np.ndarray, data: np.ndarray, counts: np.ndarray,
                       row_sums: np.ndarray, embedding: np.ndarray) -> np.ndarray:
    """umap_.init_graph_transform on the graph's rows (_graph_rows; row sums given:
    numpy's)."""
    result = np.zeros((columns.shape[0], embedding.shape[1]), dtype=np.float32)
    for row in range(columns.shape[0]):
        if counts[row] == 0:
            result[row, :] = np.nan
            continue
        for at in range(counts[row]):
            value = data[row, at]
            column = columns[row, at]
            if value == 1:
                result[row, :] = embedding[column, :]
                break
            weight = value / row_sums[row]
            for d in range(embedding.shape[1]):
                result[row, d] += weight * embedding[column, d]
    return result


@numba.njit(cache=True)
def _optimise(head_embedding, tail_embedding, head, tail, n_epochs, n_vertices,
              epochs_per_sample, a, b, rng_state_per_sample, gamma, initial_alpha,
              negative_sample_rate):  # noqa: ANN001 (numba's types)
    """umap.layouts.optimize_layout_euclidean without densMAP, move_other or parallel: the
    same epoch function and learning-rate schedule, looped in numba instead of Python."""
    dim = head_embedding.shape[1]
    alpha = initial_alpha
    epochs_per_negative_sample = epochs_per_sample / negative_sample_rate
    epoch_of_next_negative_sample = epochs_per_negative_sample.copy()
    epoch_of_next_sample = epochs_per_sample.copy()
    unused = np.zeros(1, dtype=np.float32)
    for n in range(n_epochs):
        _epoch(head_embedding, tail_embedding, head, tail, n_vertices, epochs_per_sample, a,
               b, rng_state_per_sample, gamma, dim, False, alpha,
               epochs_per_negative_sample, epoch_of_next_negative_sample,
               epoch_of_next_sample, n, False, unused, unused, 0, 0, 0, 0, unused, unused, 0)
        alpha = initial_alpha * (1.0 - (float(n) / float(n_epochs)))
    return head_embedding


@dataclass(frozen=True)
class PreparedUmap:
    """A fitted UMAP and what its transform computes the same way on every call."""

    umap: Any
    rng_state: np.ndarray        # from the transform seed, as UMAP.transform draws it
    tail: np.ndarray             # embedding_ as float32 (the epochs never move it)
    raw_t: np.ndarray            # the fitted rows, transposed, and their squared norms
    raw_norms: np.ndarray

    @property
    def width(self) -> int:
        return int(self.umap._raw_data.shape[1])


def prepare(umap: Any) -> PreparedUmap | None:
    """The prepared model, or None when its transform is not one this module reproduces."""
    # metric "cosine" is umap.distances.cosine (a loaded model holds an unpickled copy of it)
    supported = (getattr(umap, "metric", None) == "cosine"
                 and not getattr(umap, "_sparse_data", True)
                 and not umap.densmap and umap.output_metric == "euclidean"
                 and umap.transform_mode == "embedding" and umap.random_state is not None
                 and isinstance(umap.transform_seed, numbers.Integral)
                 and (umap.n_epochs is None or isinstance(umap.n_epochs, numbers.Integral))
                 and umap._raw_data.shape[0] > 1 and not umap._metric_kwds
                 and (umap._small_data or getattr(umap, "_knn_search_index", None) is not None))
    if not supported:
        return None
    random_state = check_random_state(umap.transform_seed)
    raw = np.ascontiguousarray(umap._raw_data if umap._small_data else umap._raw_data[:0],
                               dtype=np.float32)  # the index query needs no copy
    prepared = PreparedUmap(umap, random_state.randint(INT32_MIN, INT32_MAX, 3).astype(
        np.int64), umap.embedding_.astype(np.float32, copy=True),
        np.ascontiguousarray(raw.T), squared_norms(raw))
    transform(prepared, umap._raw_data[:1])  # compiles (or loads) the kernels now, not later
    return prepared


def _neighbours(prepared: PreparedUmap, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    umap = prepared.umap
    if umap._small_data:
        k = umap._n_neighbors
        dmat = cosine_distances(x, prepared.raw_t, prepared.raw_norms)
        indices = np.argpartition(dmat, k)[:, :k]
        shortened = submatrix(dmat, indices, k)
        order = np.argsort(shortened)
        return submatrix(indices, order, k), submatrix(shortened, order, k)
    epsilon = 0.24 if umap._knn_search_index._angular_trees else 0.12
    return umap._knn_search_index.query(x, umap.n_neighbors, epsilon=epsilon)


def _row_sums(data: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Each row's sum as init_graph_transform takes it (`graph[row].sum()`: numpy's sum of the
    row's float32 data; a full row's by one sum along the rows, which adds the same way)."""
    sums = data.sum(axis=1)
    for row in np.flatnonzero(counts < data.shape[1]):
        sums[row] = data[row, :counts[row]].sum()
    return sums


def reproducible(prepared: PreparedUmap, x: np.ndarray) -> bool:
    """Whether `transform` runs its own steps for `x` (a float32 array): UMAP.transform would
    neither refuse it nor answer it with the fit's own embedding (its input-hash short cut,
    possible only for as many rows as were fitted)."""
    return (x.ndim == 2 and 0 < x.shape[0] != prepared.umap._raw_data.shape[0]
            and x.shape[1] == prepared.width and bool(np.isfinite(x).all()))


def transform(prepared: PreparedUmap, x: Any) -> np.ndarray:
    """`prepared.umap.transform(x)`, to the bit."""
    umap = prepared.umap
    x = np.ascontiguousarray(x, dtype=np.float32)
    if not reproducible(prepared, x):
        return umap.transform(x)
    indices, dists = _neighbours(prepared, x)
    dists = dists.astype(np.float32, order="C")
    indices[dists >= umap._disconnection_distance] = -1
    sigmas, rhos = smooth_knn_dist(dists, float(umap._n_neighbors), local_connectivity=float(
        max(0.0, umap.local_connectivity - 1.0)))
    rows, cols, vals, _ = compute_membership_strengths(indices, dists, sigmas, rhos,
                                                       bipartite=True)
    columns, data, counts, distinct = _graph_rows(indices, vals)
    if not distinct:  # a neighbour found twice: the sparse matrix sums it; UMAP's own way
        return umap.transform(x)
    embedding = _initial_positions(columns, data, counts, _row_sums(data, counts),
                                   umap.embedding_)
    if umap.n_epochs is None:
        n_epochs = 100 if x.shape[0] <= SMALL_EPOCH_LIMIT else 30
    else:
        n_epochs = int(umap.n_epochs // 3.0)
    # the COO graph's entries in order, the weak ones (and the zeros) dropped, as UMAP prunes
    kept = (vals != 0) & ~(vals < (vals.max() / float(n_epochs)))
    head, tail, weights = rows[kept], cols[kept], vals[kept]
    epochs_per_sample = make_epochs_per_sample(weights, n_epochs)
    rng_state_per_sample = np.full((embedding.shape[0], len(prepared.rng_state)),
                                   prepared.rng_state, dtype=np.int64) + \
        embedding[:, 0].astype(np.float64).view(np.int64).reshape(-1, 1)
    return _optimise(embedding, prepared.tail, head, tail, n_epochs,
                     umap._raw_data.shape[0], epochs_per_sample, umap._a, umap._b,
                     rng_state_per_sample, umap.repulsion_strength,
                     umap._initial_alpha / 4.0, umap.negative_sample_rate)
