"""Index stores: where chunks, evidence sentences, their vectors and the BM25 statistics live, behind one
`Store` protocol — a local folder of generations (FAISS + bm25s files, `local`) or Milvus (`milvus/`);
`stores` opens either from a location.

May import: `rag.core`.
"""
