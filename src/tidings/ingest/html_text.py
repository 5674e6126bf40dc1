"""Turn the HTML inside feeds (content:encoded, summaries, Atom xhtml) into clean paragraphs.

The HTML is first sanitised with nh3 (an HTML5 parser, so broken markup is repaired the
way browsers repair it, and script/style/iframe/forms vanish with their content). lxml then
walks the cleaned tree: block elements end paragraphs, inline text is joined. Last, the
furniture feed generators append to every item ("Continue reading...", "The post X
appeared first on Y.", FeedBurner share links, Reddit's "submitted by") is removed.

Hostile markup is bounded before any of that: tags nested deeper than
:data:`tidings.ingest.markup.MAX_DEPTH` levels are flattened first (HTML5 parsing costs the
square of the depth), and a :class:`Fragment` is sanitised and parsed once however many things
(paragraphs, pictures, captions) are read from it.
"""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Iterator
from functools import cached_property, lru_cache
from urllib.parse import urljoin, urlsplit

import lxml.html
import nh3
from lxml import etree

from tidings.ingest import markup
from tidings.ingest.text import clean_line, paragraphs_from_text

__all__ = [
    "UNTITLED",
    "Fragment",
    "absolute_url",
    "first_image",
    "html_to_paragraphs",
    "html_to_text",
    "image_caption",
    "is_teaser",
    "title_from_paragraphs",
]

UNTITLED = "(untitled)"
_TITLE_WORDS = 12  # words of the text used as a title when an item has none
_TEASER_MAX = 300  # characters; longer summaries are excerpts, not teasers

# Removed together with everything inside them: code, embeds, forms, navigation.
_DROP_WITH_CONTENT = frozenset(
    {
        "applet", "audio", "button", "canvas", "datalist", "dialog", "embed", "form", "frame",
        "frameset", "head", "iframe", "input", "link", "map", "math", "meta", "nav", "noembed",
        "noframes", "noscript", "object", "option", "script", "select", "style", "svg",
        "template", "textarea", "title", "video",
    }
)  # fmt: skip

# Elements that start and end a paragraph.
_BLOCK = frozenset(
    {
        "address", "article", "aside", "blockquote", "caption", "center", "dd", "details", "div",
        "dl", "dt", "figcaption", "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6",
        "header", "hgroup", "hr", "li", "main", "ol", "p", "pre", "section", "summary", "table",
        "tbody", "tfoot", "thead", "tr", "ul",
    }
)  # fmt: skip

# Table cells sit side by side: separate their text with a space, not a paragraph break.
_CELL = frozenset({"td", "th"})

_INLINE = frozenset(
    {
        "a", "abbr", "acronym", "b", "bdi", "bdo", "big", "br", "cite", "code", "data", "del",
        "dfn", "em", "font", "i", "img", "ins", "kbd", "mark", "q", "s", "samp", "small", "span",
        "strike", "strong", "sub", "sup", "time", "tt", "u", "var", "wbr",
    }
)  # fmt: skip

_NH3_TAGS = _BLOCK | _CELL | _INLINE
# Only what the walk needs: class to spot FeedBurner's share block, img attributes for
# first_image. Everything else (style, on*, ids) goes.
_NH3_ATTRIBUTES = {
    "*": {"class"},
    "a": {"href"},
    "img": {"src", "data-src", "alt", "title", "width", "height"},
}

# Class names of boxes that are never the article: FeedBurner's "feedflare" share links,
# WordPress share/related widgets.
_FURNITURE_CLASSES = frozenset(
    {"feedflare", "sharedaddy", "share-buttons", "jp-relatedposts", "wp-block-buttons"}
)

_HTML_PARSER = lxml.html.HTMLParser(huge_tree=True, remove_comments=True)
# Fragments of at most this many tags are not flattened: nesting them all costs nh3 at most
# 2,000² steps of its stack walk (milliseconds), and huge_tree lets lxml keep 2,047 levels.
_UNCHECKED_TAGS = 2000
_HAS_TAG = re.compile(r"<\s*/?\s*[a-zA-Z!?][^<>]*>")  # [^<>]: linear on "<a<a<a…"
_ANY_TAG = re.compile(r"<[^>]*>")
# XHTML-style "<iframe … />" in feed HTML: HTML has no self-closing iframes, so the text after
# it would become the iframe's and vanish with it. Feed authors mean an empty element.
_SELF_CLOSED_DROPPED = re.compile(
    r"<(" + "|".join(sorted(_DROP_WITH_CONTENT)) + r")(\s[^<>]*?)?/>", re.IGNORECASE
)
_BLANK_LINE = re.compile(r"\n[ \t\r\f\v]*\n")

# Whole paragraphs that are feed furniture, not article text.
_FURNITURE_PARAGRAPH = re.compile(
    r"""^(?:
        the\ post\ .{1,300}\ (?:appeared\ first|first\ appeared)\ on\ .{1,200}  # WordPress
      | (?:continue\ reading|read\ more|read\ the\ (?:full|rest\ of\ the)\ (?:story|article|post)
          |keep\ reading|more\ »|(?:\()?more(?:…|\.\.\.)(?:\))?)\W{0,6}
      | submitted\ by\ .{0,200}\[(?:\d+\ )?comments?\]  # Reddit's byline-and-links line
      | \[link\]\s*\[(?:\d+\ )?comments?\]
      | related:\ .{1,200}
      | (?:\[\s*)?(?:…|\.\.\.)(?:\s*\])?
    )$""",
    re.IGNORECASE | re.VERBOSE,
)

# "… Continue reading →", "… Read more »", "[…]", "(more…)" trailing a paragraph of text.
# Only after a sentence end or an ellipsis, so "you can read more" in prose stays.
_FURNITURE_SUFFIX = re.compile(
    r"""(?<=[.!?…"”’)\]])\s*(?:
        \[\s*(?:…|\.\.\.)\s*\]
      | \(\s*more\s*(?:…|\.\.\.)?\s*\)
      | (?:continue\ reading|read\ more|read\ the\ (?:full|rest\ of\ the)\ (?:story|article|post)
          |keep\ reading)\b.{0,120}?
    )\s*$""",
    re.IGNORECASE | re.VERBOSE,
)
_BARE_ELLIPSIS_SUFFIX = re.compile(r"\s*\[\s*(?:…|\.\.\.)\s*\]\s*$")

# Images that are counters and ads, not pictures of the story.
_TRACKING_HOSTS = ("feeds.feedburner.com", "feedads.g.doubleclick.net", "pixel.wp.com")


class Fragment:
    """One field's HTML, flattened, sanitised and parsed once for all that is read from it.

    A feed entry's body gives its paragraphs, its first picture and that picture's caption;
    parsing the same markup for each would multiply the cost of a hostile field.
    """

    def __init__(self, html: str) -> None:
        self.html = html or ""

    @cached_property
    def flattened(self) -> int:
        """How many tags were removed for nesting too deep (0 for ordinary markup)."""
        return self._tree[1]

    @cached_property
    def _tree(self) -> tuple[lxml.html.HtmlElement | None, int, str]:
        """(tree or None, tags flattened, text to fall back on when there is no tree)."""
        if not self.html.strip() or not _HAS_TAG.search(self.html):
            return None, 0, ""
        return _parse(self.html)

    @cached_property
    def paragraphs(self) -> list[str]:
        """Clean text paragraphs, feed furniture removed (see :func:`html_to_paragraphs`)."""
        paragraphs = []
        for paragraph in self._extract():
            if _FURNITURE_PARAGRAPH.match(paragraph):
                continue
            # Every suffix ends in "]" or ")" or says "read": most paragraphs are spared the
            # suffix patterns, whose look-behind is tried at every character.
            if paragraph.rstrip().endswith(("]", ")")) or "read" in paragraph.lower():
                paragraph = _FURNITURE_SUFFIX.sub("", paragraph)
                paragraph = _BARE_ELLIPSIS_SUFFIX.sub("…", paragraph)
            paragraph = paragraph.strip()
            if paragraph and not _FURNITURE_PARAGRAPH.match(paragraph):
                paragraphs.append(paragraph)
        return paragraphs

    def text(self) -> str:
        """One line of text, as for a title: tags gone, entities decoded."""
        return " ".join(self._extract())

    def first_image(self, base_url: str | None = None) -> str | None:
        """The absolute URL of the first real ``<img>`` (tracking pixels skipped)."""
        for _img, url in self._images(base_url):
            return url
        return None

    def image_caption(self, image_url: str, base_url: str | None = None) -> str | None:
        """What the fragment says about the image at ``image_url``: figcaption, else alt."""
        for img, url in self._images(base_url):
            if url != image_url:
                continue
            for ancestor in img.iterancestors("figure"):
                captions = [
                    clean_line(_squash(c.text_content())) for c in ancestor.iter("figcaption")
                ]
                caption = " ".join(c for c in captions if c)
                if caption:
                    return caption
            alt = clean_line(_squash(img.get("alt") or img.get("title") or ""))
            return alt or None
        return None

    def _images(self, base_url: str | None) -> Iterator[tuple[lxml.html.HtmlElement, str]]:
        """Each real image with its absolute http(s) URL, in document order."""
        root = self._tree[0]
        if root is None:
            return
        for img in root.iter("img"):
            url = absolute_url(img.get("src") or img.get("data-src"), base_url)
            if url and not _is_tracking_pixel(img, url):
                yield img, url

    def _extract(self) -> list[str]:
        """Paragraphs of text with no furniture filtering."""
        html = self.html
        if not html.strip():
            return []
        if not _HAS_TAG.search(html):
            return paragraphs_from_text(html_lib.unescape(html))
        root, _, fallback = self._tree
        if root is None:
            return paragraphs_from_text(fallback)
        # Blog software often sends paragraphs as text separated by blank lines with only
        # inline markup; honour those blank lines when there is no block structure to go by.
        has_blocks = any(
            isinstance(el.tag, str) and el.tag in _BLOCK for el in root.iterdescendants()
        )
        collector = _Collector(split_blank_lines=not has_blocks)
        _walk(root, collector)
        return collector.finish()


def html_to_paragraphs(html: str, base_url: str | None = None) -> list[str]:
    """Clean text paragraphs from a fragment of feed HTML, feed furniture removed.

    Text without any tag is taken as plain text (entities still decoded). ``base_url`` is
    accepted so callers pass the same arguments here and to :func:`first_image`; the
    paragraphs carry no links, so nothing in them needs resolving.
    """
    del base_url  # paragraphs are text only
    return list(Fragment(html).paragraphs)


def html_to_text(html: str) -> str:
    """One line of text from short HTML such as a title: tags gone, entities decoded."""
    return Fragment(html).text()


def first_image(html: str, base_url: str | None = None) -> str | None:
    """The absolute URL of the first real ``<img>`` in ``html`` (tracking pixels skipped)."""
    if not html or "<" not in html:
        return None
    return Fragment(html).first_image(base_url)


def image_caption(html: str, image_url: str, base_url: str | None = None) -> str | None:
    """What ``html`` says about the image at ``image_url``: its figcaption, else its alt text."""
    if not html or "<" not in html:
        return None
    return Fragment(html).image_caption(image_url, base_url)


def absolute_url(url: object, base: str | None = None) -> str | None:
    """``url`` resolved against ``base`` if that makes it an http(s) address, else None."""
    text = str(url or "").strip()
    if not text:
        return None
    return _absolute_url(text, base)


# A feed entry asks for the same addresses several times (picture, media, body images), and
# urljoin and urlsplit are pure Python.
@lru_cache(maxsize=4096)
def _absolute_url(text: str, base: str | None) -> str | None:
    try:
        if base:
            text = urljoin(base, text)
        elif text.startswith("//"):  # protocol-relative with nothing to inherit from
            text = "https:" + text
        parts = urlsplit(text)
    except ValueError:  # e.g. "http://[broken" is no URL at all
        return None
    return text if parts.scheme in ("http", "https") and parts.netloc else None


def title_from_paragraphs(paragraphs: list[str]) -> str:
    """A stand-in title for an untitled item: its first words, else ``(untitled)``."""
    words = " ".join(paragraphs).split()
    if not words:
        return UNTITLED
    title = " ".join(words[:_TITLE_WORDS])
    return title + "…" if len(words) > _TITLE_WORDS else title


def is_teaser(summary: list[str], paragraphs: list[str]) -> bool:
    """Whether a summary is a short teaser (e.g. a standfirst) worth keeping beside the body.

    A summary that is just the body's opening, cut short with "…", would only repeat it.
    """
    if len(summary) != 1 or not paragraphs or len(summary[0]) > _TEASER_MAX:
        return False
    teaser = _comparable(summary[0])
    return bool(teaser) and teaser[:80] not in _comparable(" ".join(paragraphs))


def _comparable(text: str) -> str:
    return " ".join(text.lower().rstrip(".… ").split())


def _is_tracking_pixel(img: lxml.html.HtmlElement, url: str) -> bool:
    if img.get("width", "").strip() in ("0", "1") or img.get("height", "").strip() in ("0", "1"):
        return True
    host = urlsplit(url).netloc.lower()
    return any(host == h or host.endswith("." + h) for h in _TRACKING_HOSTS)


def _parse(html: str) -> tuple[lxml.html.HtmlElement | None, int, str]:
    """The sanitised fragment as a tree under one ``<div>``, the number of tags flattened,
    and its text without structure (for when there is no tree).

    The tree is None when it cannot be had, or would lose text: libxml2 silently drops what
    nests deeper than it allows, which flattening should prevent but is checked all the same.
    """
    if "/>" in html:
        html = _SELF_CLOSED_DROPPED.sub(r"<\1\2></\1>", html)
    flat = markup.flatten(html, unchecked=_UNCHECKED_TAGS)
    cleaned = nh3.clean(
        flat.html,
        tags=set(_NH3_TAGS),
        clean_content_tags=set(_DROP_WITH_CONTENT),
        attributes={k: set(v) for k, v in _NH3_ATTRIBUTES.items()},
        link_rel=None,
        strip_comments=True,
    )
    if not cleaned.strip():
        return None, flat.removed, ""
    # nh3's output is well-formed with every attribute quoted, so removing tags leaves text.
    text = html_lib.unescape(_ANY_TAG.sub("", cleaned))
    try:
        root = lxml.html.fragment_fromstring(cleaned, create_parent="div", parser=_HTML_PARSER)
    except (etree.ParserError, ValueError):
        return None, flat.removed, text
    if _visible_length(root.text_content()) < _visible_length(text):
        return None, flat.removed, text
    return root, flat.removed, text


def _visible_length(text: str) -> int:
    return len("".join(text.split()))  # str.split's whitespace is exactly re's \s


def _walk(root: lxml.html.HtmlElement, out: _Collector) -> None:
    """Feed the tree's text to ``out`` in reading order, iteratively (no recursion limit)."""
    walker = etree.iterwalk(root, events=("start", "end"))
    for event, el in walker:
        tag = el.tag if isinstance(el.tag, str) else ""
        if event == "start":
            if tag in _DROP_WITH_CONTENT or _has_furniture_class(el):
                walker.skip_subtree()
                continue
            if tag in _BLOCK:
                out.boundary()
            elif tag in _CELL:
                out.text(" ")
            elif tag == "br":
                out.line_break()
            if tag and el.text:
                out.text(el.text)
        else:
            if tag in _BLOCK and not _has_furniture_class(el):  # a skipped one still ends
                out.boundary()
            elif tag in _CELL:
                out.text(" ")
            if el is not root and el.tail:
                out.text(el.tail)


def _has_furniture_class(el: lxml.html.HtmlElement) -> bool:
    classes = el.get("class")
    return bool(classes) and not _FURNITURE_CLASSES.isdisjoint(classes.split())


def _squash(text: str) -> str:
    """Runs of whitespace as one space, and none at the ends (which clean_line strips)."""
    return " ".join(text.split())


class _Collector:
    """Builds paragraphs from a stream of text, block boundaries and line breaks."""

    def __init__(self, *, split_blank_lines: bool) -> None:
        self.split_blank_lines = split_blank_lines
        self.parts: list[str] = []
        self.paragraphs: list[str] = []
        self.breaks = 0  # consecutive <br>s with only whitespace between them

    def text(self, text: str) -> None:
        if self.split_blank_lines and _BLANK_LINE.search(text):
            chunks = _BLANK_LINE.split(text)
            for i, chunk in enumerate(chunks):
                if i:
                    self.boundary()
                self._add(chunk)
        else:
            self._add(text)

    def _add(self, text: str) -> None:
        if text.strip():
            self.breaks = 0
        self.parts.append(text)

    def line_break(self) -> None:
        # One <br> is a line break inside a paragraph; two or more in a row end it.
        self.breaks += 1
        if self.breaks >= 2:
            self.boundary()
        else:
            self.parts.append(" ")

    def boundary(self) -> None:
        paragraph = clean_line(_squash("".join(self.parts)))
        if paragraph:
            self.paragraphs.append(paragraph)
        self.parts = []
        self.breaks = 0

    def finish(self) -> list[str]:
        self.boundary()
        return self.paragraphs
