"""Search: find any story by its words or its meaning (``tidings.search.searcher``), in a
syntax people know (``query``), with snippets (``snippets``), fused and re-ranked for a
reader (``personal``); a reader can follow a search like a topic."""

from tidings.errors import BadQuery
from tidings.search.query import Query, parse
from tidings.search.results import SavedSearch, SearchHit, SearchPage
from tidings.search.searcher import Searcher

__all__ = ["BadQuery", "Query", "SavedSearch", "SearchHit", "SearchPage", "Searcher", "parse"]
