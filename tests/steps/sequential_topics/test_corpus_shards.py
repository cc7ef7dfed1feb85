"""corpus_shards: hosts' shards merged in input order, duplicates across shards dropped, and
sets of shards that are incomplete or from different runs refused."""
from __future__ import annotations

import pandas as pd
import pytest

from steps.common.errors import InvalidData
from steps.sequential_topics import contract
from steps.sequential_topics.corpus_shards import (
    POSITION_COLUMN,
    CleanedShard,
    merge_shards,
    read_shards,
    write_parts,
    write_shard,
)

HOSTS = ["algo-1", "algo-2"]
CONTEXT = {"settings": {"text_columns": ["text"]}, "label_column": "label",
           "ids_generated": False}


def shard(host: str, rows: list[tuple[int, str, str, str]], shard_rows: int,
          duplicate: int = 0, hosts: list[str] = HOSTS, **extra) -> CleanedShard:
    frame = pd.DataFrame(rows, columns=[POSITION_COLUMN, contract.ID_COLUMN,
                                        contract.DOCUMENT_COLUMN, contract.LABEL_COLUMN])
    return CleanedShard(**{
        "host": host, "hosts": hosts, "rows": frame, "table_rows": 6, "shard_rows": shard_rows,
        "dropped": {"empty_input": 0, "empty_after_cleaning": 0, "duplicate": duplicate},
        "truncated": 0, "truncated_at_embedding": 0, "cleaning_workers": 1, "seconds": 1.5,
        "context": CONTEXT, **extra})


@pytest.fixture
def shards() -> list[CleanedShard]:
    # rows 0, 2, 4 on algo-1; 1, 3, 5 on algo-2; row 4 was dropped in its shard (a repeat of
    # row 0); row 3 repeats row 2 of the other shard, so only the merge can drop it
    return [shard("algo-1", [(0, "a", "cloud deal", "tech"), (2, "c", "stadium", "")], 3,
                  duplicate=1),
            shard("algo-2", [(1, "007", "retail app", "NA"), (3, "d", "stadium", "sport"),
                             (5, "f", "bank merger", "business")], 3)]


def test_merge_restores_the_input_order_and_drops_repeats_across_shards(shards):
    corpus, report = merge_shards(shards)
    assert corpus.to_dict("list") == {
        contract.ID_COLUMN: ["a", "007", "c", "f"],
        contract.DOCUMENT_COLUMN: ["cloud deal", "retail app", "stadium", "bank merger"],
        contract.LABEL_COLUMN: ["tech", "NA", "", "business"]}
    assert report["dropped"] == {"empty_input": 0, "empty_after_cleaning": 0, "duplicate": 2}
    assert (report["rows_read"], report["kept"]) == (6, 4)
    assert report["labels"] == {"": 1, "NA": 1, "business": 1, "tech": 1}
    assert [(h["host"], h["rows"], h["documents"]) for h in report["hosts"]] == [
        ("algo-1", 3, 2), ("algo-2", 3, 3)]


def test_shards_survive_their_files_as_text(shards, tmp_path):
    for item in shards:
        write_shard(tmp_path, item)
    read = read_shards(tmp_path)
    assert [s.host for s in read] == HOSTS
    assert merge_shards(read)[0].equals(merge_shards(shards)[0])  # '007', 'NA' and '' intact


def test_a_missing_host_is_refused(shards, tmp_path):
    write_shard(tmp_path, shards[0])
    with pytest.raises(InvalidData, match=r"holds the shards of hosts \['algo-1'\], but "
                                          r"preprocessing ran on \['algo-1', 'algo-2'\] "
                                          r"\(missing: \['algo-2'\]\)"):
        read_shards(tmp_path)


def test_shards_of_different_runs_are_refused(shards, tmp_path):
    write_shard(tmp_path, shards[0])
    other = shards[1]
    other.context = {**CONTEXT, "label_column": ""}
    write_shard(tmp_path, other)
    with pytest.raises(InvalidData, match="shards algo-1 and algo-2 come from different "
                                          "preprocessing runs"):
        read_shards(tmp_path)


def test_no_shard_is_refused_naming_the_producer(tmp_path):
    with pytest.raises(InvalidData, match=r"no cleaned shard \(shard-<host>.json\) under .*: "
                                          r"pass the --shard-dir output of preprocess.py"):
        read_shards(tmp_path)


def test_a_row_in_two_shards_is_refused(shards):
    shards[1].rows.loc[0, POSITION_COLUMN] = 0
    with pytest.raises(InvalidData, match="two shards hold the same input row"):
        merge_shards(shards)


def test_documents_cut_at_the_embedding_are_counted_over_the_shards():
    shards = [shard("algo-1", [(0, "a", "cloud deal", "tech")], 3, truncated_at_embedding=2),
              shard("algo-2", [(1, "b", "retail app", "tech")], 3, truncated_at_embedding=1)]
    assert merge_shards(shards)[1]["truncated_at_embedding"] == 3


@pytest.mark.parametrize(("rows", "num_parts", "max_part", "expected"), [
    (10, 2, 100, 2),   # the asked-for count when parts are small
    (10, 2, 3, 4),     # more parts when one would exceed the cap
    (3, 8, 100, 3),    # never an empty part
])
def test_parts_are_capped_in_size_and_keep_the_input_order(tmp_path, rows, num_parts, max_part,
                                                           expected):
    corpus = pd.DataFrame({contract.ID_COLUMN: [f"d{i}" for i in range(rows)],
                           "document": [f"text {i}" for i in range(rows)]})
    paths = write_parts(corpus, tmp_path, num_parts, max_part_documents=max_part)
    parts = [pd.read_csv(path, dtype=str, keep_default_na=False) for path in paths]
    assert len(parts) == expected
    assert max(len(part) for part in parts) <= max(max_part, -(-rows // num_parts))
    assert pd.concat(parts)[contract.ID_COLUMN].tolist() == corpus[contract.ID_COLUMN].tolist()
