"""The licence line shown under demo text: whose words they are and on what terms.

Wikinews text is CC BY 2.5 wherever it was read from; a headline from the UCI News
Aggregator data set (the demo's multi-outlet stories) is marked by its external id.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

UCI_ID_PREFIX = "uci-news-aggregator:"


@dataclass(frozen=True, slots=True)
class Licence:
    text: str  # "Text: Wikinews contributors, CC BY 2.5"
    url: str  # the licence itself

    def to_dict(self) -> dict[str, str]:
        return {"text": self.text, "url": self.url}


WIKINEWS = Licence(
    "Text: Wikinews contributors, CC BY 2.5 (modified)",
    "https://creativecommons.org/licenses/by/2.5/",
)
UCI = Licence(
    "Headline: UCI News Aggregator data set (F. Gasparetti, 2016), CC BY 4.0",
    "https://creativecommons.org/licenses/by/4.0/",
)


def licence_of(url: str | None, external_id: str | None) -> Licence | None:
    """The licence of an article's text when tidings knows it (demo and Wikinews text)."""
    if external_id and external_id.startswith(UCI_ID_PREFIX):
        return UCI
    host = (urlsplit(url).hostname or "") if url else ""
    if host == "wikinews.org" or host.endswith(".wikinews.org"):
        return WIKINEWS
    return None
