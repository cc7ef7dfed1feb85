"""embed.py with the real (offline) MiniLM on a tiny corpus: two hosts, shards, one LSA model."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from steps.sequential_topics import contract, corpus_io, embed, representations
from tests.steps.sequential_topics.conftest import run_main

pytestmark = pytest.mark.integration

HOSTS = ["algo-1", "algo-2"]


@pytest.fixture(scope="module")
def parts(corpus_dir, tmp_path_factory):
    """Four parts of six documents."""
    folder = tmp_path_factory.mktemp("parts")
    corpus = corpus_io.read_corpus(corpus_dir).head(24)
    for index in range(4):
        corpus.iloc[index * 6:(index + 1) * 6].to_csv(folder / f"part-{index:05d}.csv",
                                                      index=False)
    return folder


@pytest.fixture(scope="module")
def by_host(parts, tmp_path_factory):
    """Each host picks its own parts from the full input (--shard-by-host)."""
    outputs = {}
    for host in HOSTS:
        work = tmp_path_factory.mktemp(host)
        run = run_main(embed.main, [
            "--input", str(parts), "--full-corpus", str(parts), "--output-dir",
            str(work / "embeddings"), "--lsa-dir", str(work / "lsa"), "--current-host", host,
            "--hosts", json.dumps(HOSTS), "--shard-by-host", "--lsa-components", "8",
            "--resource-config", str(work / "absent.json")], work)
        assert run.returncode == 0, run.stderr
        outputs[host] = work
    return outputs


def read(folder):
    result = {}
    for path in sorted(folder.glob("*.npz")):
        with np.load(path) as data:
            result[path.name] = {k: data[k] for k in data.files}
    return result


def test_shards_are_disjoint_and_complete(by_host, parts):
    first, second = read(by_host["algo-1"] / "embeddings"), read(by_host["algo-2"] /
                                                                  "embeddings")
    assert sorted(first) == ["part-00000.npz", "part-00002.npz"]
    assert sorted(second) == ["part-00001.npz", "part-00003.npz"]
    ids = [i for output in (first, second) for part in output.values() for i in part["ids"]]
    expected = corpus_io.read_corpus(parts)[contract.ID_COLUMN].tolist()
    assert sorted(ids) == sorted(expected) and len(ids) == len(set(ids))


def test_file_format(by_host):
    part = read(by_host["algo-1"] / "embeddings")["part-00000.npz"]
    assert set(part) == {"ids", "minilm", "lsa", "concat"}
    assert part["minilm"].shape == (6, 384) and part["minilm"].dtype == np.float32
    assert part["lsa"].shape == (6, 8)
    assert part["concat"].shape == (6, 392)
    for name in ("minilm", "lsa", "concat"):
        assert np.allclose(np.linalg.norm(part[name], axis=1), 1, atol=1e-5)


def test_first_host_saves_the_lsa_model(by_host):
    assert (by_host["algo-1"] / "lsa" / contract.LSA_MODEL_FILE).is_file()
    info = json.loads((by_host["algo-1"] / "lsa" / contract.REPRESENTATIONS_FILE).read_text())
    assert info["lsa"]["components"] == 8 and info["minilm"]["dimensions"] == 384
    assert not (by_host["algo-2"] / "lsa").exists()


def test_every_host_uses_the_same_lsa(by_host, parts, tmp_path):
    """A host given only its shard (ShardedByS3Key) embeds exactly as the saved LSA does."""
    shard = tmp_path / "shard"
    shard.mkdir()
    for name in ("part-00001.csv", "part-00003.csv"):
        (shard / name).write_bytes((parts / name).read_bytes())
    (tmp_path / "resourceconfig.json").write_text(json.dumps(
        {"current_host": "algo-2", "hosts": HOSTS}))
    run = run_main(embed.main, [
        "--input", str(shard), "--full-corpus", str(parts), "--output-dir",
        str(tmp_path / "embeddings"), "--lsa-dir", str(tmp_path / "lsa"), "--lsa-components",
        "8", "--resource-config", str(tmp_path / "resourceconfig.json")], tmp_path)
    assert run.returncode == 0, run.stderr
    lsa = representations.load_lsa(by_host["algo-1"] / "lsa")
    for name, part in read(tmp_path / "embeddings").items():
        documents = pd.read_csv(parts / name.replace(".npz", ".csv"))["document"].tolist()
        assert np.allclose(part["lsa"], representations.lsa_transform(lsa, documents),
                           atol=1e-5)
        assert np.allclose(part["lsa"], read(by_host["algo-2"] / "embeddings")[name]["lsa"])


def test_deterministic_sample_ignores_order_and_part_boundaries():
    corpus = pd.DataFrame({contract.ID_COLUMN: [f"id-{n}" for n in range(50)],
                           contract.DOCUMENT_COLUMN: [f"text {n}" for n in range(50)]})
    whole, seen = representations.deterministic_sample([corpus], 10)
    shuffled = corpus.sample(frac=1.0, random_state=3)
    split, seen_split = representations.deterministic_sample(
        [shuffled.iloc[:7], shuffled.iloc[7:30], shuffled.iloc[30:]], 10)
    assert set(whole) == set(split) and len(whole) == 10 and seen == seen_split == 50
    # corpus order is kept, and a sample larger than the corpus is the whole corpus
    assert whole == sorted(whole, key=lambda d: int(d.split()[1]))
    assert representations.deterministic_sample([corpus], 99)[0] == corpus[
        contract.DOCUMENT_COLUMN].tolist()
