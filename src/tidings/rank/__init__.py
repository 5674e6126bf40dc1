"""Ranking: features, scorers, diversity and reasons — pure, apart from storage."""
