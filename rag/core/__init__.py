"""Core: the records every stage shares (`Chunk`, `Hit`), errors, configuration, where things live on disk,
store locations, language and text helpers, and terminal-safe printing.

May import: nothing else from `rag` (every other package builds on this one).
"""
