"""Evaluate: measure how well tidings does its jobs against real, labelled data."""
