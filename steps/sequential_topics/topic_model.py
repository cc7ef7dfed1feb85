"""One BERTopic model: precomputed embeddings -> reducer -> BIRCH -> c-TF-IDF keywords.

The reducer is UMAP (cosine metric) or PCA (cheap; for tests), followed by a StandardScaler
so that the BIRCH threshold is in standard-deviation units whatever the reducer. BIRCH always
yields exactly `n_clusters` topics (no outliers): `AdaptiveBirch` halves its threshold until
the CF tree has at least that many subclusters.
"""
from __future__ import annotations

import logging
import os
import tempfile
import warnings
from collections import Counter
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.cluster import Birch

from steps.common.errors import InvalidData

logger = logging.getLogger(__name__)

REDUCERS = ("umap", "pca")
BOILERPLATE_SHARE = 0.7  # of the documents a word is in, above which it is no topic's keyword
BOILERPLATE_MIN_DOCS = 20
_MAX_HALVINGS = 12


def set_numba_cache(default_dir: str | None = None) -> None:
    """Point numba's cache at a writable folder before umap is imported, so later processes
    (tuning trials) reuse the compiled UMAP instead of compiling it again (10-50 s)."""
    if not os.environ.get("NUMBA_CACHE_DIR"):
        folder = default_dir or os.path.join(tempfile.gettempdir(), "numba-cache")
        os.makedirs(folder, exist_ok=True)
        os.environ["NUMBA_CACHE_DIR"] = folder


@dataclass(frozen=True)
class ModelSettings:
    reducer: str = "umap"
    n_neighbors: int = 15
    n_components: int = 5
    min_dist: float = 0.0
    birch_threshold: float = 0.5
    n_clusters: int = 15  # layer 1 is coarse; layers 2-3 split its broad topics
    top_n_words: int = 10
    seed: int = 42
    boilerplate: tuple[str, ...] = ()  # the corpus's boilerplate_words: never keywords

    def __post_init__(self) -> None:
        if self.reducer not in REDUCERS:
            raise InvalidData(f"reducer must be one of {', '.join(REDUCERS)}, got "
                              f"{self.reducer!r}")
        for name in ("n_neighbors", "n_components", "n_clusters", "top_n_words"):
            if getattr(self, name) < (2 if name == "n_neighbors" else 1):
                raise InvalidData(f"{name} must be positive (n_neighbors at least 2), got "
                                  f"{getattr(self, name)}")
        if self.birch_threshold <= 0:
            raise InvalidData(f"birch_threshold must be > 0, got {self.birch_threshold}")

    def fitted_to(self, n_docs: int, dimensions: int) -> ModelSettings:
        """The settings clamped to what `n_docs` documents of `dimensions` allow."""
        return replace(self, n_clusters=max(1, min(self.n_clusters, n_docs)),
                       n_neighbors=max(2, min(self.n_neighbors, n_docs - 1)),
                       n_components=max(1, min(self.n_components, dimensions,
                                               max(1, n_docs - 2))))

    def to_json(self) -> dict[str, Any]:
        """The settings; `boilerplate` only where the corpus has some (older settings had no
        such field)."""
        settings = asdict(self)
        settings["boilerplate"] = list(self.boilerplate)
        return settings if self.boilerplate else {k: v for k, v in settings.items()
                                                  if k != "boilerplate"}


class AdaptiveBirch(Birch):
    """BIRCH that lowers its threshold (halving) until it finds n_clusters subclusters;
    `requested_threshold_` keeps the original, `threshold` the one used."""

    def fit(self, X: Any, y: Any = None) -> AdaptiveBirch:  # noqa: N803 (sklearn's name)
        self.requested_threshold_ = self.threshold
        wanted = self.n_clusters if isinstance(self.n_clusters, int) else 1
        for _ in range(_MAX_HALVINGS):
            probe = Birch(threshold=self.threshold, branching_factor=self.branching_factor,
                          n_clusters=None, compute_labels=False).fit(X)
            if len(probe.subcluster_centers_) >= wanted:
                break
            self.threshold = self.threshold / 2
        if self.threshold != self.requested_threshold_:
            logger.info("BIRCH threshold lowered from %s to %s to reach %s subclusters",
                        self.requested_threshold_, self.threshold, wanted)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning when still too few
            return super().fit(X, y)


def build_reducer(settings: ModelSettings) -> Any:
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    if settings.reducer == "pca":
        from sklearn.decomposition import PCA

        reducer = PCA(n_components=settings.n_components, random_state=settings.seed)
    else:
        set_numba_cache()
        from umap import UMAP

        reducer = UMAP(n_neighbors=settings.n_neighbors, n_components=settings.n_components,
                       min_dist=settings.min_dist, metric="cosine",
                       random_state=settings.seed, low_memory=True)
    return Pipeline([("reduce", reducer), ("scale", StandardScaler())])


def vectorizer(n_docs: int, boilerplate: tuple[str, ...] = ()) -> Any:
    """The c-TF-IDF word counter of a model fitted on `n_docs` documents; the corpus's
    `boilerplate` words are stop words too."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

    stop_words = sorted(ENGLISH_STOP_WORDS | set(boilerplate)) if boilerplate else "english"
    return CountVectorizer(stop_words=stop_words, min_df=2 if n_docs >= 200 else 1)


def boilerplate_words(documents: list[str]) -> tuple[str, ...]:
    """Words in more than BOILERPLATE_SHARE of the documents (of at least
    BOILERPLATE_MIN_DOCS): an e-mail signature's, a form's or a template's words. They say
    nothing about any one topic, yet they lead every topic's c-TF-IDF list when documents are
    dealt at random, so the shuffled baseline's topics all shared them, co-occurring in every
    document, and out-scored real topics on coherence."""
    from sklearn.feature_extraction.text import CountVectorizer

    if len(documents) < BOILERPLATE_MIN_DOCS:
        return ()
    counter = CountVectorizer(stop_words="english", binary=True)
    try:
        present = counter.fit_transform(documents)
    except ValueError:  # no word at all (every document empty or stop words)
        return ()
    share = np.asarray(present.mean(axis=0)).ravel()
    return tuple(str(w) for w in counter.get_feature_names_out()[share > BOILERPLATE_SHARE])


def fit_model(documents: list[str], embeddings: np.ndarray, settings: ModelSettings) -> Any:
    """A fitted BERTopic model; `model.topics_` holds each document's topic (0..k-1)."""
    from bertopic import BERTopic

    if len(documents) != len(embeddings):
        raise InvalidData(f"{len(documents)} documents but {len(embeddings)} embeddings")
    if len(documents) < 3:
        raise InvalidData(f"a topic model needs at least 3 documents, got {len(documents)}")
    settings = settings.fitted_to(len(documents), embeddings.shape[1])
    model = BERTopic(embedding_model=None, umap_model=build_reducer(settings),
                     hdbscan_model=AdaptiveBirch(threshold=settings.birch_threshold,
                                                 n_clusters=settings.n_clusters),
                     vectorizer_model=vectorizer(len(documents), settings.boilerplate),
                     top_n_words=settings.top_n_words, calculate_probabilities=False,
                     verbose=False)
    np.random.seed(settings.seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=FutureWarning)
        model.fit(documents, embeddings=embeddings)
    return model


def predict(model: Any, documents: list[str], embeddings: np.ndarray) -> np.ndarray:
    """Topic numbers of new documents under a fitted model."""
    if len(documents) == 0:
        return np.zeros(0, dtype=int)
    topics, _ = model.transform(documents, embeddings=embeddings)
    return np.asarray(topics, dtype=int)


def reduce(model: Any, embeddings: np.ndarray) -> np.ndarray:
    return np.asarray(model.umap_model.transform(embeddings))


def topic_keywords(model: Any, topic: int, documents: list[str]) -> list[tuple[str, float]]:
    """(word, c-TF-IDF weight) most characteristic first; a topic whose c-TF-IDF is empty
    falls back to its most frequent words (weight 0)."""
    words = [(w, max(0.0, float(v))) for w, v in (model.get_topic(topic) or []) if w.strip()]
    if words:
        return words
    counts = Counter(w for doc in documents for w in doc.split())
    fallback = [(w, 0.0) for w, _ in counts.most_common(5)]
    return fallback or [(f"topic-{topic}", 0.0)]


def save_model(model: Any, path: Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    model.save(str(temporary), serialization="pickle", save_embedding_model=False)
    os.replace(temporary, path)


def load_model(path: Path) -> Any:
    from bertopic import BERTopic

    set_numba_cache()
    return BERTopic.load(str(path))
