"""Refusal: whether the documents answer a question — the calibrated relevance of each hit
(`relevance`) and the policy that turns the best hit's relevance and the model's own "no answer" into
answer or refuse (`policy`).

May import: `rag.core`, `rag.retrieval` (the evidence measures).
"""
