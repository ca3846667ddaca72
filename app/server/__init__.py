"""``rag serve``: the question-answering service over HTTP (FastAPI + uvicorn).

Thin routers, one per resource (`ask_router`, `search_router`, `chat_router`, `documents_router`,
`health_router`), over service objects (`QAService`, `DocumentsService`) that hold the logic and
call the same `rag.api.RAG` and `rag_ingest.knowledge_base.KnowledgeBase` the CLI and the UI call.
Auth (`auth`) and limits (`limits`) are dependencies and middleware; `create_app` wires them.
"""
