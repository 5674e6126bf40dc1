"""News outlets and agencies: who reports a story, not what it is about.

An article that says "told the BBC" or "according to Reuters" is not about the BBC; a reader
who followed "Associated Press" would get half the news. So outlet names are not entities.
Names that are also ordinary things ("Sun", "Time", "Atlantic", "Bloomberg" the person) are
left out of the table: only unambiguous outlet names are here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from tidings.understand.entity_names import lookup_key

__all__ = ["OUTLETS", "is_outlet", "outlet_keys"]

_NAMES = [
    # Wire services and agencies
    "Reuters", "Thomson Reuters", "Associated Press", "AP", "The Associated Press",
    "Agence France-Presse", "Agence France Presse", "AFP", "Xinhua", "Xinhua News Agency",
    "TASS", "ITAR-TASS", "RIA Novosti", "Interfax", "Kyodo", "Kyodo News", "Yonhap",
    "Yonhap News Agency", "KCNA", "Korean Central News Agency", "ANSA", "EFE", "dpa",
    "Deutsche Presse-Agentur", "Press Association", "PA Media", "Press Trust of India", "PTI",
    "United Press International", "UPI", "Anadolu Agency", "Anadolu", "IRNA", "Bernama",
    "Antara", "Bloomberg News", "Dow Jones Newswires", "Canadian Press",
    "Australian Associated Press", "AAP",
    # Broadcasters
    "BBC", "BBC News", "BBC World Service", "BBC Radio 4", "BBC Wales", "BBC Scotland",
    "CNN", "CNN International", "CBS", "CBS News", "NBC", "NBC News", "ABC News", "MSNBC",
    "Fox News", "Fox News Channel", "NPR", "National Public Radio", "PBS", "Sky News", "ITV",
    "ITV News", "Channel 4 News", "CBC", "CBC News", "CTV", "CTV News", "Global News",
    "RTÉ", "RTE", "Deutsche Welle", "DW", "France 24", "RFI", "Radio France Internationale",
    "RT", "Russia Today", "Euronews", "NHK", "Al Jazeera", "Al Jazeera English", "Al Arabiya",
    "CCTV", "CGTN", "NDTV", "SBS", "ABC", "Australian Broadcasting Corporation", "RNZ",
    "Radio New Zealand", "TVNZ", "BFM TV", "BFMTV", "Voice of America", "VOA",
    "Radio Free Europe", "Radio Free Europe/Radio Liberty", "C-SPAN",
    # Papers and sites
    "The Guardian", "Guardian", "The Observer", "The Times", "The Sunday Times",
    "The Daily Telegraph", "The Telegraph", "Daily Telegraph", "Daily Mail", "Mail Online",
    "MailOnline", "Daily Mirror", "The Mirror", "Evening Standard", "Financial Times", "FT",
    "The Economist", "The New York Times", "New York Times", "NYT", "The Washington Post",
    "Washington Post", "The Wall Street Journal", "Wall Street Journal", "WSJ", "USA Today",
    "Los Angeles Times", "LA Times", "Chicago Tribune", "Boston Globe", "The Boston Globe",
    "San Francisco Chronicle", "Mercury News", "San Jose Mercury News", "Houston Chronicle",
    "Politico", "Axios", "HuffPost", "Huffington Post", "The Huffington Post",
    "BuzzFeed News", "Newsweek", "Der Spiegel", "Spiegel", "Le Monde",
    "Le Figaro", "El País", "El Pais", "La Repubblica", "Corriere della Sera",
    "Süddeutsche Zeitung", "Frankfurter Allgemeine Zeitung", "Bild", "South China Morning Post",
    "SCMP", "Global Times", "China Daily", "People's Daily", "The Hindu", "Times of India",
    "The Times of India", "Hindustan Times", "Haaretz", "Times of Israel",
    "The Times of Israel", "Jerusalem Post", "The Jerusalem Post", "Sydney Morning Herald",
    "The Sydney Morning Herald", "The Age", "News.com.au", "New Zealand Herald",
    "The Globe and Mail", "Globe and Mail", "Toronto Star", "National Post", "WalesOnline",
    "Irish Times", "The Irish Times", "The Scotsman", "Korea Herald", "JoongAng Ilbo",
    "Japan Times", "The Japan Times", "Straits Times", "The Straits Times", "Kyiv Independent",
    "Moscow Times", "The Moscow Times", "Arab News", "Gulf News", "Daily Maverick", "News24",
    # Aggregators
    "Google News", "Yahoo News", "Yahoo! News", "MSN", "Apple News",
    # Wikinews itself, and "WN", how its interviews mark the interviewer's questions
    "Wikinews", "English Wikinews", "WN",
]  # fmt: skip


def _key(name: str) -> str:
    """Lookup key without a leading "the": entity names lose it ("The Guardian" -> "Guardian")."""
    key = lookup_key(name)
    return key[4:] if key.startswith("the ") else key


#: Lookup keys of known outlet names.
OUTLETS: frozenset[str] = frozenset(_key(n) for n in _NAMES)

# A US or Canadian broadcaster's call sign with its band: "KDKA-TV", "WTOP-FM".
_CALL_SIGN = re.compile(r"^[KWC][A-Z]{2,3}[- ](?:TV|FM|AM|DT|LP|CD)$")
# A feed title's decoration after the outlet's name: "BBC News - World", "Guardian | UK".
_TITLE_SEPARATOR = re.compile(r"\s+[-–—|:]\s+")


def outlet_keys(sources: Iterable[str | None]) -> frozenset[str]:
    """Lookup keys of source names as a store knows them (feed titles included: the part
    before " - ", " | " or ": " counts too, "BBC News - World" being "BBC News")."""
    keys: set[str] = set()
    for source in sources:
        if not source or not source.strip():
            continue
        keys.add(_key(source))
        keys.add(_key(_TITLE_SEPARATOR.split(source.strip(), maxsplit=1)[0]))
    keys.discard("")
    return frozenset(keys)


def is_outlet(name: str, extra: frozenset[str] = frozenset()) -> bool:
    """Whether ``name`` is a news outlet or agency (``extra``: more keys, e.g. the store's
    own source names from :func:`outlet_keys`)."""
    key = _key(name)
    return key in OUTLETS or key in extra or bool(_CALL_SIGN.match(name))
