"""Evaluate: measure how well tidings does its jobs against real, labelled data."""

from __future__ import annotations


def share(part: int, whole: int) -> float:
    """``part / whole``, or 0 when there is nothing to divide (an empty evaluation)."""
    return part / whole if whole else 0.0
