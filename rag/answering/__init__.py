"""Answering: from re-ranked hits to a checked, cited `Answer` — excerpt selection, the answer prompt, the
LLM draft-and-revise loop (`answerer`), the extractive answerer, and the citation check with its exact-span
rules (`citations`, `faithfulness`).

May import: `rag.core`, `rag.retrieval`, `rag.refusal`, `rag.generation`.
"""
