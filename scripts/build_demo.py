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
DEFAULT_OUT = ROOT / "src" / "tidings" / "demo" / "data" / "wikinews.jsonl.gz"
RECENT_FILE = "wikinews_2019_2021.jsonl"
OLDER_FILE = "wikinews_2004_2018.jsonl"
OLDER_COUNT = 2500  # most recent 2004–2018 articles to keep
MIN_CHARS = 400  # shorter 2004–2018 texts are mostly stubs and link lists
MAX_BYTES = 6_000_000
SOURCE = "Wikinews"

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
    """Every 2019–2021 article with text, plus the most recent usable 2004–2018 ones."""
    picked = [
        demo_record(row, text)
        for row in read_jsonl(source / RECENT_FILE)
        if is_article(row) and usable(text := clean_text(row.get("text") or ""), 1)
    ]
    older = [
        demo_record(row, text)
        for row in read_jsonl(source / OLDER_FILE)
        if is_article(row) and usable(text := clean_text(row.get("text") or ""), MIN_CHARS)
    ]
    older.sort(key=_order)
    picked.extend(older[-older_count:])
    return sorted(picked, key=_order)


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
    parser.add_argument("--older", type=int, default=OLDER_COUNT, help="2004–2018 articles")
    args = parser.parse_args(argv)
    records = select(args.source, args.older)
    size = write_pack(records, args.out)
    years = sorted({r["published"][:4] for r in records})
    print(f"{args.out}: {len(records)} articles ({years[0]}–{years[-1]}), {size:,} bytes")
    if size > MAX_BYTES:
        print(f"pack is larger than {MAX_BYTES:,} bytes", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
