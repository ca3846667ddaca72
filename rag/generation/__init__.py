"""Generation: text generators behind one interface (`base.Generator`) — llama.cpp in-process
(`llama_cpp`, packaged GGUFs from `packaged`) or a model on an OpenAI-compatible server
(`openai_compatible`), built from a spec by `factory`; chat templates and prompt-injection defusing in
`chat`.

May import: `rag.core`.
"""
