import pytest

from rag.retrieval.fusion import reciprocal_rank_fusion


def test_rrf_scores_by_hand() -> None:
    fused = reciprocal_rank_fusion({"dense": [(7, 0.9), (3, 0.8)], "sparse": [(3, 12.0), (5, 4.0)]}, k=10)
    by_row = {f.row: f for f in fused}
    # row 3: 1/(10+2) + 1/(10+1) = 0.083333 + 0.090909 = 0.174242
    assert by_row[3].score == pytest.approx(1 / 12 + 1 / 11)
    # row 7: 1/(10+1); row 5: 1/(10+2)
    assert by_row[7].score == pytest.approx(1 / 11)
    assert by_row[5].score == pytest.approx(1 / 12)
    assert [f.row for f in fused] == [3, 7, 5]
    assert by_row[3].scores == {"dense": 0.8, "sparse": 12.0}
    assert by_row[3].ranks == {"dense": 2, "sparse": 1}


def test_weights_scale_each_list() -> None:
    fused = reciprocal_rank_fusion({"dense": [(1, 0.5)], "sparse": [(2, 3.0)]}, k=0, weights={"dense": 1.0, "sparse": 2.0})
    # row 2: 2.0 / (0 + 1) = 2.0 beats row 1: 1.0 / 1 = 1.0
    assert [(f.row, f.score) for f in fused] == [(2, 2.0), (1, 1.0)]


def test_ties_keep_first_seen_order_and_empty_lists_work() -> None:
    fused = reciprocal_rank_fusion({"a": [(1, 0.0)], "b": [(2, 0.0)], "c": []})
    assert [f.row for f in fused] == [1, 2]
    assert reciprocal_rank_fusion({}) == []


def test_negative_k_is_rejected() -> None:
    with pytest.raises(ValueError, match="k must be >= 0"):
        reciprocal_rank_fusion({"a": [(1, 1.0)]}, k=-1)


def test_taking_turns_interleaves_rankings_and_keeps_each_item_where_it_first_comes() -> None:
    from rag.retrieval.fusion import taking_turns

    merged = taking_turns([["a", "b", "c"], ["d", "a"], ["e"]], key=str)
    assert merged == ["a", "d", "e", "b", "c"]  # "a", second in the second ranking, was already taken first
    assert taking_turns([], key=str) == [] and taking_turns([[], ["x"]], key=str) == ["x"]
