"""Article web pages: the main text and metadata of one HTML page, via trafilatura.

trafilatura finds the article; a few generic clean-ups then run on its result, each one measured
on the labelled page set (:mod:`tidings.evaluate.extraction`, figure in ``evaluate/floors.py``):

* figure captions are pruned before extraction: they describe a picture, not the story;
* short blocks that are mostly a link ("Read also: …") or a call to subscribe, follow or donate,
  and copyright lines, are dropped from the extracted body;
* a standfirst (lead) shown on the page and given as its meta description, which trafilatura
  often leaves out because it sits in the header beside the headline, is put back in front.

Hostile pages are bounded first: markup nested deeper than :data:`markup.MAX_DEPTH` levels is
flattened before lxml sees it (libxml2 would drop everything below its own limit, text and
all), and the standfirst search, the one step after trafilatura, is skipped with a warning
when the page has used up its time budget (:mod:`tidings.ingest.budget`).
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import urlsplit

import trafilatura
from lxml import etree
from lxml import html as lxml_html
from trafilatura.xml import xmltotxt

from tidings.errors import ParseError
from tidings.ingest import decoding, markup
from tidings.ingest.budget import Budget
from tidings.ingest.text import clean_line, parse_date
from tidings.models import Document, Image, Parsed, ParsedArticle

# Fewer words than this is a teaser, a cookie wall or an error page, not an article.
MIN_ARTICLE_WORDS = 15

# trafilatura options, measured on the labelled page set (pages passing, with the clean-ups):
# defaults 137/150; favor_precision 134, favor_recall 134, deduplicate 136, fast 137 but fewer
# body snippets found. Captions are pruned before extraction.
EXTRACTION_OPTIONS: dict[str, Any] = {
    "favor_precision": False,
    "favor_recall": False,
    "deduplicate": False,
    "include_tables": True,
    "prune_xpath": ["//figcaption", "//*[contains(@class, 'caption')]"],
}
# Switch for the clean-ups above, so their effect can be measured against plain trafilatura.
POSTPROCESS = True

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.I)
_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.I)

# A block at most this long, mostly link text and not a sentence, is a teaser ("Read also: <link>").
_TEASER_MAX_CHARS = 160
_TEASER_LINK_SHARE = 0.5
# List items must be all link: an ingredient or a reference often links one of its words.
_TEASER_ITEM_LINK_SHARE = 0.9
_SENTENCE_END = re.compile(r"""[.!?…:;]["'»“”’)]*$""")
# "Read more: <link>" and its kin in a few languages, when the block holds a link.
_READ_MORE = re.compile(
    r"""^\W*(?:read\ (?:more|also)|continue\ reading|see\ also|related|more:
    |weiter\ zu|weiterlesen|lesen\ sie\ (?:auch|mehr)|mehr\ zum\ thema
    |lea\ (?:también|más|aquí)|lee\ también|le\ puede\ interesar|nota\ relacionada
    |lire\ aussi|à\ lire\ aussi)""",
    re.IGNORECASE | re.VERBOSE,
)
# Calls to action, disclosures, credits and page metadata. Only short blocks are tested, so an
# article *about* newsletters or copyright keeps its paragraphs.
_PITCH_MAX_CHARS = 400
_PITCH = re.compile(
    r"""newsletter|\bsubscribe\b|\bsign\ up\ (?:here|now|today)\b|\bfree\ sign[ -]?up\b
    |\bfollow\ us\b|\bdonate\b|\bsupport\ us\b
    |abonnier|\bfolg(?:e|t)\ uns\b|unterstütze?n?\ (?:uns|unser)
    |suscr[ií]b|s[ií]gu?enos\b|\bsuivez-nous\b|abonnez-vous
    |advertiser\ disclosure|affiliate\ links?
    |we\ may\ (?:earn|receive)\ (?:a\ )?(?:commission|compensation)
    |all\ rights\ reserved|alle\ rechte\ vorbehalten|derechos\ reservados|tous\ droits\ réservés
    |\blast\ (?:modified|updated)\b""",
    re.IGNORECASE | re.VERBOSE,
)
# Picture credits ("Foto: … | © Agency") are short and carry a copyright sign.
_CREDIT_MAX_CHARS = 200
_CREDIT = re.compile(r"©|\(c\)\s|^(?:copyright|credits?|photo|foto|bild|image|imagen)\s*:", re.I)
# Clean-ups that would remove more than this share of the text are misfiring (a links post).
_MAX_DROPPED_SHARE = 0.5
_BLOCK_TAGS = frozenset({"p", "head", "list", "quote", "table", "code", "item"})
# Wrappers a block may sit in and still be judged on its own (items are judged within lists).
_TRANSPARENT_TAGS = frozenset({"body", "div", "section", "article", "main", "list"})
_INVISIBLE_TAGS = ("script", "style", "noscript", "template", "head", "title", "svg")
# A standfirst is short; a longer element holding the description is the body or a wrapper.
_LEAD_MAX_GROWTH = 1.5
_LEAD_MAX_CHARS = 600
_UTF8_HTML = lxml_html.HTMLParser(encoding="utf-8")
# schema.org description of the article itself (not of its author, a product or a video).
_ARTICLE_DESCRIPTION = (
    "//body//*[@itemprop='description'][ancestor::*[@itemscope][1]"
    "[contains(@itemtype, 'Article') or contains(@itemtype, 'Posting')]]"
)

# trafilatura logs every page it finds nothing in at ERROR/WARNING; we report that ourselves.
logging.getLogger("trafilatura").setLevel(logging.CRITICAL)


def parse(doc: Document, budget: Budget | None = None) -> Parsed:
    """One article from an HTML page: its main text, title, byline, date, picture and labels."""
    budget = budget or Budget()
    raw = decode_html(doc.data, doc.content_type)
    if not raw.strip():
        raise ParseError("the page is empty")
    warnings: list[str] = []
    flat = markup.flatten(raw)
    page = flat.html
    if flat.removed:
        warnings.append(
            f"markup nested more than {markup.MAX_DEPTH} levels deep was flattened "
            f"({flat.removed} tags removed)"
        )
    url = doc.url or (doc.name if doc.name.startswith(("http://", "https://")) else None)
    options = dict(EXTRACTION_OPTIONS)
    if not POSTPROCESS:
        options.pop("prune_xpath", None)
    try:
        result = trafilatura.bare_extraction(
            page,
            url=url,
            with_metadata=True,
            include_comments=False,
            include_links=True,  # to tell link teasers from prose; links are dropped below
            **options,
        )
    except Exception as exc:  # trafilatura and lxml raise many kinds of error on broken markup
        raise ParseError(f"could not read the page as HTML: {exc}") from exc
    if result is None:
        raise ParseError("no article text found in the page")
    data: dict[str, Any] = result.as_dict()
    title = clean_line(data.get("title") or "")
    body = result.body
    if POSTPROCESS:
        _drop_boilerplate_blocks(body)
    etree.strip_tags(body, "ref")
    paragraphs = _paragraphs(xmltotxt(body, include_formatting=False), title)
    if POSTPROCESS and budget.exhausted:
        warnings.append(f"standfirst not looked for: reading the page took {budget.describe()}")
    elif POSTPROCESS and (lead := _standfirst(data.get("description"), title, paragraphs, page)):
        paragraphs.insert(0, lead)
    if sum(len(p.split()) for p in paragraphs) < MIN_ARTICLE_WORDS:
        raise ParseError("no article text found in the page")

    source = clean_line(data.get("sitename") or "") or _host(url or data.get("url"))
    image_url = data.get("image")
    article = ParsedArticle(
        title=title or _title_from(paragraphs[0]),
        url=url or data.get("url"),
        paragraphs=paragraphs,
        byline=clean_line(data.get("author") or "") or None,
        published=parse_date(data.get("date")),
        language=_language(data.get("language"), page),
        source=source or None,
        image=Image(url=image_url) if image_url else None,
        labels=_labels([*(data.get("categories") or []), *(data.get("tags") or [])]),
        raw=raw,
    )
    return Parsed(articles=[article], warnings=warnings, title=source or None)


def decode_html(data: bytes, content_type: str | None = None) -> str:
    """HTML bytes as text: BOM, then the HTTP charset, then ``<meta charset>``, then a guess."""
    declared = []
    if content_type and (match := _HEADER_CHARSET.search(content_type)):
        declared.append(match.group(1))
    if match := _META_CHARSET.search(data[:8192]):
        declared.append(match.group(1).decode("ascii"))
    try:
        return decoding.decode(data, declared)[0]
    except (UnicodeDecodeError, ValueError):
        return data.decode("utf-8", errors="replace")


def _drop_boilerplate_blocks(body: etree._Element) -> None:
    """Remove link teasers, calls to action and credits from trafilatura's body, in place."""
    total = len(clean_line(" ".join(body.itertext())))
    doomed: list[etree._Element] = []
    for block in body.iter(*_BLOCK_TAGS):
        ancestors = list(block.iterancestors())
        if any(a.tag not in _TRANSPARENT_TAGS for a in ancestors):
            continue  # a block inside a paragraph, quote or table goes with it
        if any(a in doomed for a in ancestors):
            continue
        if _is_boilerplate(block):
            doomed.append(block)
    dropped = sum(len(clean_line(" ".join(block.itertext()))) for block in doomed)
    if dropped > _MAX_DROPPED_SHARE * total:
        return
    for block in doomed:
        _remove(block)
    # A heading with nothing after it introduced what was just removed (or a sidebar).
    blocks = [b for b in body.iter(*_BLOCK_TAGS) if clean_line(" ".join(b.itertext()))]
    while blocks and blocks[-1].tag == "head":
        _remove(blocks.pop())


def _is_boilerplate(block: etree._Element) -> bool:
    """A short block that is a link teaser, a pitch to subscribe/follow/donate, or a credit."""
    text = clean_line(" ".join(block.itertext()))
    if not text:
        return False
    links = sum(len(clean_line(" ".join(ref.itertext()))) for ref in block.iter("ref"))
    share = _TEASER_ITEM_LINK_SHARE if block.tag == "item" else _TEASER_LINK_SHARE
    if (
        len(text) <= _TEASER_MAX_CHARS
        and links >= share * len(text)
        and not _SENTENCE_END.search(text)
    ):
        return True
    if len(text) <= _TEASER_MAX_CHARS and links and _READ_MORE.search(text):
        return True
    if len(text) <= _PITCH_MAX_CHARS and _PITCH.search(text):
        return True
    return len(text) <= _CREDIT_MAX_CHARS and _CREDIT.search(text) is not None


def _remove(element: etree._Element) -> None:
    """Remove an element but keep its tail text, which belongs to the surrounding block."""
    parent = element.getparent()
    if parent is None:
        return
    if element.tail and element.tail.strip():
        previous = element.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + element.tail
        else:
            parent.text = (parent.text or "") + element.tail
    parent.remove(element)


def _paragraphs(text: str, title: str) -> list[str]:
    """trafilatura's text, one paragraph per line, without a leading repeat of the title."""
    paragraphs = [p for p in (clean_line(line) for line in text.splitlines()) if p]
    if paragraphs and title and paragraphs[0].casefold() == title.casefold():
        paragraphs = paragraphs[1:]
    return paragraphs


def _standfirst(
    description: str | None, title: str, paragraphs: list[str], page: str
) -> str | None:
    """The page's lead paragraph, shown on the page but left out by trafilatura.

    It is found as the shortest visible element holding the meta description, or as a short
    ``itemprop="description"`` element (schema.org markup for the standfirst).
    """
    extracted = " ".join(paragraphs)
    wanted = clean_line(description or "").rstrip(".… ")
    try:
        tree = lxml_html.document_fromstring(page.encode("utf-8"), parser=_UTF8_HTML)
    except (ValueError, etree.ParserError):
        return None
    for hidden in list(tree.iter(*_INVISIBLE_TAGS)):
        if hidden.getparent() is not None:
            hidden.drop_tree()
    best: str | None = None
    longest = _LEAD_MAX_GROWTH * len(wanted) + 40
    letters = _letters_within(tree)
    if len(wanted) >= 40 and wanted not in extracted:
        for element in tree.iter("p", "div", "h2", "h3", "span", "strong", "section", "header"):
            if letters[element] > longest:
                continue  # too long to be the standfirst: its text is not even built
            text = clean_line(element.text_content())
            fits = wanted in text and len(text) <= longest
            if fits and (best is None or len(text) < len(best)):
                best = text
    if best is None:
        for element in tree.xpath(_ARTICLE_DESCRIPTION):
            if letters.get(element, 0) > _LEAD_MAX_CHARS:
                continue
            text = clean_line(element.text_content())
            if 40 <= len(text) <= _LEAD_MAX_CHARS and text not in extracted:
                best = text
                break
    if best is None or best.casefold() == title.casefold():
        return None
    return best


def _letters_within(tree: etree._Element) -> dict[etree._Element, int]:
    """How many non-space characters of text each element holds, for all elements at once.

    A lower bound on the length of its cleaned text, computed in one pass from the leaves
    up: asking every nested element for its text would cost the depth times the page.
    """
    letters: dict[etree._Element, int] = {}
    for _event, element in etree.iterwalk(tree, events=("end",)):
        count = _non_space(element.text)
        for child in element:  # a comment's own text is not the element's text
            inner = letters.get(child, 0) if isinstance(child.tag, str) else 0
            count += inner + _non_space(child.tail)
        letters[element] = count
    return letters


def _non_space(text: str | None) -> int:
    return len(text) - sum(map(text.count, " \t\n\r\f\v")) if text else 0


def _title_from(paragraph: str, limit: int = 100) -> str:
    """A stand-in title for a page without one: the start of its first paragraph."""
    if len(paragraph) <= limit:
        return paragraph
    return paragraph[:limit].rsplit(" ", 1)[0] + "…"


def _host(url: str | None) -> str:
    """The host of a URL without ``www.``, as a last-resort source name."""
    if not url:
        return ""
    host = urlsplit(url).hostname or ""
    return host.removeprefix("www.")


def _language(detected: str | None, page: str) -> str | None:
    """The page's language code (``en``): trafilatura's guess, else ``<html lang>`` or meta tags."""
    code = detected or _declared_language(page)
    if not code:
        return None
    primary = re.split(r"[-_,;\s]", code.strip(), maxsplit=1)[0].lower()
    return primary if re.fullmatch(r"[a-z]{2,3}", primary) else None


_HTML_LANG = re.compile(r"""<html\b[^>]*?\s(?:xml:)?lang\s*=\s*["']?([A-Za-z_-]+)""", re.I)
_META_LANG = re.compile(
    r"""<meta\b[^>]*?(?:http-equiv\s*=\s*["']?content-language|property\s*=\s*["']?og:locale)
    [^>]*?\bcontent\s*=\s*["']?([A-Za-z_-]+)""",
    re.I | re.X,
)


def _declared_language(page: str) -> str | None:
    """The language the page declares: ``<html lang>``, Content-Language or og:locale."""
    for pattern in (_HTML_LANG, _META_LANG):
        if match := pattern.search(page[:20000]):
            return match.group(1)
    return None


# trafilatura hands keywords over joined by commas; a label longer than this is an SEO phrase,
# and past this many the rest are keyword stuffing, not topics a reader would follow.
_MAX_LABEL_CHARS = 50
_MAX_LABELS = 12


def _labels(values: list[str]) -> list[str]:
    """Categories then tags, split at commas, cleaned and without repeats, in page order."""
    labels: list[str] = []
    seen: set[str] = set()
    for value in values:
        for part in str(value).split(","):
            label = clean_line(part)
            if label and len(label) <= _MAX_LABEL_CHARS and label.casefold() not in seen:
                seen.add(label.casefold())
                labels.append(label)
    return labels[:_MAX_LABELS]
