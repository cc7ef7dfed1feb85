"""The objective bench's scoring of cached trials: rank correlations, picks, the defaults."""
from __future__ import annotations

import pytest

from bench.topic_objective_bench import OBJECTIVES, agreement, parse_args


def trial(separation: float, nmi: float, representation: str = "minilm",
          clusters: int = 15) -> dict:
    fold = {"coherence": 0.1 + separation, "diversity": 0.9 - separation,
            "separation": separation, "separation_reduced": 0.4 - 3 * separation,
            "stability": 0.5 + separation}
    return {"representation": representation, "n_neighbors": 15, "n_components": 5,
            "birch_threshold": 0.5, "n_clusters": clusters, "seed": 42, "topics": clusters,
            "folds": [fold, fold], "nmi_coarse": nmi, "ami_coarse": nmi - 0.01,
            "nmi_fine": nmi + 0.1, "ami_fine": nmi + 0.09}


def test_an_objective_that_ranks_as_the_labels_do_correlates_fully_and_picks_the_best():
    trials = [trial(0.02, 0.50), trial(0.01, 0.40, "lsa", 22), trial(0.04, 0.60, clusters=19),
              trial(0.03, 0.55, "concat", 16)]
    report = agreement(trials)
    product, before = report["objectives"]["product"], report["objectives"]["before"]
    assert product["spearman_nmi_coarse"] == 1.0 and product["spearman_ami_fine"] == 1.0
    assert product["pick"] == {"representation": "minilm", "n_neighbors": 15,
                               "n_components": 5, "birch_threshold": 0.5, "n_clusters": 19}
    assert product["pick_nmi_coarse"] == 0.6
    # the reduced-space separation runs the other way here, so the old objective disagrees
    assert before["spearman_nmi_coarse"] == -1.0 and before["pick_nmi_coarse"] == 0.4
    assert report["defaults"]["nmi_coarse"] == 0.5 and report["best"]["nmi_fine"] == 0.7
    assert report["components"]["separation"]["spearman_nmi_coarse"] == 1.0


def test_unknown_corpora_and_objectives_are_refused_with_the_choices(capsys):
    with pytest.raises(SystemExit) as stopped:
        parse_args(["--corpora", "news"])
    assert stopped.value.code == 2
    assert "unknown corpus ['news']; choose from hpo, wiki, wordnet, bbc" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parse_args(["--pick-objectives", "mine"])
    assert f"choose from {', '.join(OBJECTIVES)}" in capsys.readouterr().err
