"""Ingest: every way an article gets in, one module per kind of input."""
