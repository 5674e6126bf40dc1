"""Build the demo pack shipped in ``tidings.demo``: English Wikinews articles as gzipped JSON Lines.

    python scripts/build_demo.py [WIKINEWS_DIR] [--out PATH]

WIKINEWS_DIR (default ``../shared/data/wikinews`` beside the project) holds
``wikinews_2004_2018.jsonl`` and ``wikinews_2019_2021.jsonl`` (toscaData / vanatteveldt exports
of English Wikinews, CC BY 2.5). The pack takes every 2019–2021 article with text and the most
recent 2004–2018 articles with at least MIN_CHARS characters of text, after cleaning off the
wiki-markup the exports left behind. Cleaning is conservative: an article whose text still holds
markup after it is left out rather than guessed at. The output is deterministic (sorted lines,
gzip mtime 0), so rebuilding from the same input gives the same bytes.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import re
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = ROOT.parent / "shared" / "data" / "wikinews"
DEFAULT_UCI = ROOT.parent / "shared" / "data" / "stories" / "uci_news_aggregator_2014-03-10.tsv.gz"
DATA = ROOT / "src" / "tidings" / "demo" / "data"
DEFAULT_OUT = DATA / "wikinews.jsonl.gz"
UCI_OUT = DATA / "uci_news_aggregator.jsonl.gz"
OLDER_FILE = "wikinews_2004_2018.jsonl"
OLDER_COUNT = 2500  # most recent Wikinews articles up to the cut-off
# The demo is the news as it stood when the UCI window ends (12 March 2014, 04:49 UTC): every
# Wikinews article kept is from before, so the multi-outlet headlines are its newest stories.
CUTOFF = "2014-03-12"
MIN_CHARS = 400  # shorter texts are mostly stubs and link lists
MAX_BYTES = 6_000_000
SOURCE = "Wikinews"
UCI_ID_PREFIX = "uci-news-aggregator:"  # tidings.demo.licence reads it to credit the data set
UCI_CATEGORIES = {
    "b": "Business",
    "e": "Entertainment",
    "t": "Science and technology",
    "m": "Health",
}

# --- cleaning ---------------------------------------------------------------------------------

_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_REF = re.compile(r"<ref\b[^>/]*/>|<ref\b[^>]*>.*?</ref\s*>", re.DOTALL | re.IGNORECASE)
# Formatting tags the export kept; their text stays, the tags go.
_TAG = re.compile(
    r"</?(?:noinclude|includeonly|onlyinclude|nowiki|center|small|big|sup|sub|span|div|p|br|"
    r"font|b|i|u|s|em|strong|blockquote|ref|references)\b[^>]*>",
    re.IGNORECASE,
)
_MAGIC_WORD = re.compile(r"__[A-Z]+__")
# Heads left by templates and portal boxes, read as a first "word" of the text.
_LEADING_INFOBOX = re.compile(r"^[^.!?\n]{0,60}?\binfobox\b\s*(?:\}\}\s*)?", re.IGNORECASE)
_LEADING_TEMPLATE = re.compile(
    r"^(?:[A-Za-z]+\d{4}[\w-]*|WikimediaMention|Archive-unreviewed)\s+", re.IGNORECASE
)
# Image options of a removed picture: "thumb right Former Governor …".
_LEADING_IMAGE_OPTIONS = re.compile(
    r"^(?:(?:thumb|thumbnail|right|left|center|frame|upright|\d+px)\s+)+"
)
# Wikinews portal names that the export put in front of the first sentence.
_PORTALS = (
    "Australian news",
    "Canadian news",
    "Economy and business",
    "Politics and conflicts",
    "Crime and law",
    "Science and technology",
    "Disasters and accidents",
    "Culture and entertainment",
    "Obituaries",
    "Aviation",
    "2008 US Presidential Election",
    "2008-09 financial crisis",
    "2008 financial crisis",
    "2006 Israel-Lebanon conflict",
    "Israel/Palestine conflict",
    "North Korea nuclear program",
    "Iran nuclear program",
    "Iraq war",
)
_LEADING_PORTAL = re.compile(
    r"^(?:" + "|".join(re.escape(p) for p in _PORTALS) + r")\s+(?=[A-Z0-9\"'“])"
)
# A place name before a sentence that starts with a determiner: "Palestine The delegation …".
_LEADING_PLACE = re.compile(
    r"^(?:[A-Za-z][\w.-]*\s){1,3}(?=(?:The|An|On|In|According|After|Today,?)\s)"
)
# A linked word lost its suffix to a space: "Australia n", "Iraq i", "Japan ese", "Israel 's".
_DEMONYM_SUFFIX = r"(?:n|ns|i|ian|ians|ese|ish)"
_SPLIT_DEMONYM = re.compile(rf"\b([A-Z][\w-]*[a-z]) ({_DEMONYM_SUFFIX})\b(?=[\s,.;:!?\"'-]|$)")
# "an" is a word, so only the demonyms the exports actually split are joined: "Europe an".
_SPLIT_AN = re.compile(r"\b(Europe|Zimbabwe|Chile) an\b")
# "US -based", "Shiite -led": a compound lost its first half's link.
_SPLIT_COMPOUND = re.compile(r"(?<=[A-Za-z.]) -(?=[a-z])")
_SPLIT_PLURAL = re.compile(r"(\w) s\b(?=[\s,.;:!?\"'-]|$)")
_SPLIT_POSSESSIVE = re.compile(r"(\w) ('s)\b")
_EMPTY_PARENS = re.compile(r"\s*\(\s*[,;]?\s*\)")
_PAREN_INNER = re.compile(r"\(\s+|\s+\)")
_SPACE_BEFORE_PUNCT = re.compile(r"(?<=[\w)]) +([,;:!?]|\.(?![.\d]))")
_CURRENCY_SPACE = re.compile(r"([$€£¥]) (?=\d)")
_SPACES = re.compile(r"[ \t\u00a0]{2,}")
_PARAGRAPH_BREAK = re.compile(r"\s*\n\s*\n\s*")
_LINE_BREAK = re.compile(r" *\n *")
# Markup that cleaning does not handle: the article is left out of the pack.
_RESIDUE = re.compile(r"\[\[|\]\]|\{\{|\}\}|\||==|<[a-zA-Z/!]|\[http|&[a-z]+;|\w=\w|Infobox")
# Colour keys of a removed election chart: "██ Labour Party - 203 seats".
_LEGEND = re.compile(r"^[█■▇▆▅▄▃▂▁]")


def clean_text(text: str) -> str:
    """Wiki-markup leftovers removed from a Wikinews export text; paragraphs stay apart."""
    text = _COMMENT.sub(" ", text)
    text = _REF.sub("", text)
    text = _TAG.sub(" ", text)
    text = _MAGIC_WORD.sub(" ", text)
    text = _SPLIT_POSSESSIVE.sub(r"\1\2", text)
    text = _SPLIT_DEMONYM.sub(r"\1\2", text)
    text = _SPLIT_AN.sub(r"\1an", text)
    text = _SPLIT_COMPOUND.sub("-", text)
    text = _SPLIT_PLURAL.sub(r"\1s", text)
    text = _EMPTY_PARENS.sub("", text)
    text = _PAREN_INNER.sub(lambda m: m.group().strip(), text)
    text = _SPACE_BEFORE_PUNCT.sub(r"\1", text)
    text = _CURRENCY_SPACE.sub(r"\1", text)
    text = _SPACES.sub(" ", text)
    text = _PARAGRAPH_BREAK.sub("\n\n", text.strip())
    text = _LINE_BREAK.sub("\n", text)
    text = "\n\n".join(p for p in text.split("\n\n") if not _LEGEND.match(p))
    return _clean_start(text)


def _clean_start(text: str) -> str:
    """The text without portal, template and place-name heads in front of its first sentence."""
    for _ in range(3):  # heads come stacked: "<noinclude> Canadian news Canada Canada's …"
        before = text
        text = _LEADING_TEMPLATE.sub("", text)
        text = _LEADING_IMAGE_OPTIONS.sub("", text)
        text = _LEADING_INFOBOX.sub("", text)
        text = _LEADING_PORTAL.sub("", text)
        text = _drop_repeated_lead(text)
        text = _LEADING_PLACE.sub("", text)
        if text[:1] in ",;:":  # a linked subject went missing: ", the President of …"
            text = text.lstrip(" ,;:")
            text = text[:1].upper() + text[1:]
        if text == before:
            break
    return text


def _drop_repeated_lead(text: str) -> str:
    """ "Malaysia Malaysian Prime Minister …" → "Malaysian Prime Minister …"."""
    words = text.split(" ", 6)
    for size in (3, 2, 1):
        if len(words) <= 2 * size:
            continue
        lead = " ".join(words[:size])
        rest = text[len(lead) :].lstrip()
        if re.match(re.escape(lead) + _DEMONYM_SUFFIX + r"?(?:'s)?\b", rest, re.IGNORECASE):
            return rest
    return text


# A sentence ends at . ! or ? (and a closing quote or bracket) before a capital or digit …
_SENTENCE_END = re.compile(r"(?<=[.!?])([\"'”’)]?)\s+(?=[\"'“‘(]?[A-Z0-9])")
# … unless the word before is an abbreviation or an initial ("Mr. Smith", "George W. Bush").
_ABBREVIATION = re.compile(
    r"(?:\b(?:Mr|Mrs|Ms|Dr|St|Jr|Sr|Gen|Lt|Col|Sgt|Capt|Rep|Sen|Gov|Prof|Rev|No|Nos|Inc|Co|"
    r"Corp|Ltd|vs|etc|Jan|Feb|Mar|Apr|Aug|Sept?|Oct|Nov|Dec|Mt|Ft|approx)|\b[A-Z]|"
    r"\b(?:[A-Za-z]\.){1,3}[A-Za-z])\.$"
)
PARAGRAPH_CHARS = 320  # a news paragraph: two or three sentences


def paragraphs(text: str) -> list[str]:
    """The export's one block of text as news paragraphs: sentences grouped two or three at a
    time (the exports lost the paragraph breaks; a wall of text is hard to read)."""
    out: list[str] = []
    for block in text.split("\n\n"):
        sentences: list[str] = []
        start = 0
        for match in _SENTENCE_END.finditer(block):
            head = block[start : match.start()] + match.group(1)
            if _ABBREVIATION.search(block[start : match.start()]):
                continue
            sentences.append(head.strip())
            start = match.end()
        sentences.append(block[start:].strip())
        current: list[str] = []
        for sentence in filter(None, sentences):
            current.append(sentence)
            size = sum(len(s) for s in current)
            if len(current) >= 3 or (len(current) >= 2 and size >= PARAGRAPH_CHARS) or size > 600:
                out.append(" ".join(current))
                current = []
        if current:
            out.append(" ".join(current))
    return out


def usable(text: str, min_chars: int) -> bool:
    """Long enough, and free of markup that cleaning could not take out."""
    if len(text) < min_chars or not (text[:1].isupper() or text[:1].isdigit()):
        return False  # too short, or it starts mid-sentence where a linked subject went missing
    return not any(_RESIDUE.search(p) for p in text.split("\n\n"))


# Pages outside the article namespace ("TEST PAGE:Self-publish today", "Wikinews:…").
_NOT_AN_ARTICLE = re.compile(r"^[A-Z][A-Za-z ]*:(?=\S)|^test page\b", re.IGNORECASE)

# --- selection --------------------------------------------------------------------------------


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line)


def is_article(row: dict[str, Any]) -> bool:
    """A dated page of the article namespace."""
    return bool(row.get("published")) and not _NOT_AN_ARTICLE.search(row.get("title") or "")


def demo_record(row: dict[str, Any], text: str) -> dict[str, Any]:
    """The fields the pack keeps, in a fixed order, plus the source every line names."""
    return {
        "id": row["id"],
        "title": " ".join(row["title"].split()),
        "url": row["url"],
        "published": row["published"],
        "text": text,
        "categories": list(row.get("categories") or []),
        "source": SOURCE,
    }


def select(source: Path, older_count: int = OLDER_COUNT) -> list[dict[str, Any]]:
    """The most recent usable Wikinews articles up to the cut-off, split into paragraphs."""
    picked = [
        demo_record(row, "\n\n".join(paragraphs(text)))
        for row in read_jsonl(source / OLDER_FILE)
        if is_article(row)
        and row["published"] <= CUTOFF
        and usable(text := clean_text(row.get("text") or ""), MIN_CHARS)
    ]
    picked.sort(key=_order)
    return picked[-older_count:]


def uci_records(path: Path) -> list[dict[str, Any]]:
    """UCI News Aggregator rows as headline-only JSON Lines records, one per outlet's story.

    The file's story ids are left out on purpose: tidings must find the stories itself.
    """
    with gzip.open(path, "rt", encoding="utf-8", newline="") as rows:
        reader = csv.DictReader(rows, delimiter="\t", quoting=csv.QUOTE_NONE)
        return [
            {
                "id": UCI_ID_PREFIX + row["id"],
                "title": " ".join(row["title"].split()),
                # The crawl escaped query marks ("story\\?track=rss"); the outlet's link has none.
                "url": row["url"].replace("\\?", "?"),
                "published": row["timestamp"],
                "categories": [UCI_CATEGORIES.get(row["category"], row["category"])],
                "source": " ".join(row["publisher"].split()),
            }
            for row in reader
            if row["title"].strip() and row["url"].startswith(("http://", "https://"))
        ]


def _order(record: dict[str, Any]) -> tuple[str, str]:
    return (record["published"], record["id"])


def write_pack(records: Iterable[dict[str, Any]], out: Path) -> int:
    """Gzipped JSON Lines with a zero mtime and no file name inside, so builds are repeatable."""
    body = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode("utf-8")
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0, compresslevel=9) as gz:
        gz.write(body)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(buffer.getvalue())
    return len(buffer.getvalue())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", nargs="?", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--older", type=int, default=OLDER_COUNT, help="Wikinews articles")
    parser.add_argument("--uci", type=Path, default=DEFAULT_UCI, help="UCI News Aggregator TSV")
    parser.add_argument("--uci-out", type=Path, default=UCI_OUT)
    parser.add_argument(
        "--understand",
        action="store_true",
        help="also understand the pack (models, minutes) and write what was found beside it",
    )
    args = parser.parse_args(argv)
    records = select(args.source, args.older)
    size = write_pack(records, args.out)
    years = sorted({r["published"][:4] for r in records})
    print(f"{args.out}: {len(records)} articles ({years[0]}–{years[-1]}), {size:,} bytes")
    headlines = uci_records(args.uci)
    uci_size = write_pack(headlines, args.uci_out)
    print(f"{args.uci_out}: {len(headlines)} headlines, {uci_size:,} bytes")
    if size + uci_size > MAX_BYTES:
        print(f"packs are larger than {MAX_BYTES:,} bytes", file=sys.stderr)
        return 1
    if args.understand:
        from tidings.demo.understood import build

        build(progress=print)
    return 0


if __name__ == "__main__":
    sys.exit(main())
