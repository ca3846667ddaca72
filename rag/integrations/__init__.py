"""Adapters that put this library inside other frameworks; each needs its framework installed (an extra)."""
