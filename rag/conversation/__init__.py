"""Conversations: a follow-up question read in the context of the turns before it. Earlier turns are bounded
and treated as untrusted text (`history`); a cheap rule says whether a question needs them at all (`followup`);
a follow-up becomes a standalone question — by the answering model continuing its previous turn, or by a rule
that needs no model (`rewrite`); the passages the previous answer cited become candidates for the follow-up.

May import: `rag.core`, `rag.generation`, `rag.refusal`, `rag.answering`.
"""
