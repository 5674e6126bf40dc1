"""Bound how deeply HTML nests before any HTML5 parser sees it.

HTML5 tree builders (html5ever inside nh3, and so trafilatura's and our own passes after it)
walk the stack of open elements for many start and end tags, so markup nested *d* levels deep
costs them time in *d²*: 40,000 nested ``<div>`` s, 440 KB, took nh3 a minute. libxml2, under
lxml, silently drops whatever lies deeper than its limit (255 levels, 2,047 with
``huge_tree``): the text of the page is lost.

:func:`flatten` reads the markup once, in linear time, keeping an approximate model of the
open elements an HTML5 parser would have, and removes the tags that would open an element
beyond ``max_depth``; their text stays, in place. The model errs on the deep side (an element
it cannot tell is closed counts as open), so the real depth a parser then builds stays within
the limit plus a few levels. It honours what changes the tokenizer's reading: comments,
raw-text elements (``<script>``, ``<style>``…), quoted attribute values, self-closing tags in
SVG and MathML, and the elements HTML closes implicitly (``<p>``, ``<li>``, table cells) or
reopens (``<b>``, ``<i>``… closed by a block end tag): those are reopened in every block that
follows, so only :data:`MAX_REOPENED` of them may be pending at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["MAX_DEPTH", "MAX_REOPENED", "Flattened", "flatten"]

# Deepest nesting kept. Real article markup stays under 40 levels and real pages under 100;
# libxml2 drops content below 255.
MAX_DEPTH = 160

_WS = "\t\n\f\r "
# A start or end tag as the HTML5 tokenizer reads it: name, then attributes whose quoted
# values may hold ">" and "<". Atomic groups, so no input makes the pattern backtrack.
_TOKEN = re.compile(
    r"""<(?:(!)|(\?|/(?![A-Za-z]))|(/?)([A-Za-z][^\t\n\f\r />]*)
    (?>[\t\n\f\r ]+|/(?!>)|[^\t\n\f\r />][^\t\n\f\r />=]*
        (?>[\t\n\f\r ]*=[\t\n\f\r ]*(?>"[^"]*"?|'[^']*'?|[^\t\n\f\r >]*))?)*
    (/?)>?)""",
    re.VERBOSE,
)

_VOID = frozenset(
    {
        "area", "base", "basefont", "bgsound", "br", "col", "embed", "frame", "hr", "image",
        "img", "input", "keygen", "link", "meta", "param", "source", "track", "wbr",
    }
)  # fmt: skip
# Their content is text to the tokenizer (in HTML, not inside SVG or MathML).
_RAW_TEXT = frozenset(
    {"iframe", "noembed", "noframes", "script", "style", "textarea", "title", "xmp"}
)
# Reopened by the parser after a block closes them ("active formatting elements").
_FORMATTING = frozenset(
    {"a", "b", "big", "code", "em", "font", "i", "nobr", "s", "small", "strike", "strong",
     "tt", "u"}
)  # fmt: skip
# Ordinary phrasing elements: an end tag may close them on the way to its own element.
_PHRASING = _FORMATTING | frozenset(
    {
        "abbr", "acronym", "bdi", "bdo", "cite", "data", "del", "dfn", "ins", "kbd", "label",
        "mark", "q", "rb", "rp", "rt", "rtc", "ruby", "samp", "span", "sub", "sup", "time",
        "var",
    }
)  # fmt: skip
# Start tags that close an open <p> first.
_CLOSES_P = frozenset(
    {
        "address", "article", "aside", "blockquote", "center", "details", "dialog", "dir",
        "div", "dl", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3",
        "h4", "h5", "h6", "header", "hgroup", "hr", "listing", "main", "menu", "nav", "ol", "p",
        "pre", "search", "section", "summary", "ul", "li", "dd", "dt", "plaintext", "xmp",
    }
)  # fmt: skip
# End tags that close whatever is open inside their element (within table/object scope).
_BLOCK_END = _CLOSES_P - {"p", "li", "dd", "dt", "hr", "plaintext", "xmp"}
_SCOPE = frozenset(
    {"applet", "button", "caption", "html", "marquee", "object", "table", "td", "template", "th"}
)
_TABLE_SCOPE = frozenset({"html", "table", "template"})
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
# Start tags that leave SVG or MathML and go back to HTML.
_BREAKOUT = frozenset(
    {
        "b", "big", "blockquote", "body", "br", "center", "code", "dd", "div", "dl", "dt", "em",
        "embed", "font", "h1", "h2", "h3", "h4", "h5", "h6", "head", "hr", "i", "img", "li",
        "listing", "menu", "meta", "nobr", "ol", "p", "pre", "ruby", "s", "small", "span",
        "strike", "strong", "sub", "sup", "table", "tt", "u", "ul", "var",
    }
)  # fmt: skip

# Start tags that need more than a push: all others in HTML are pushed as they are.
_SPECIAL_START = (
    _RAW_TEXT
    | _HEADINGS
    | frozenset({"li", "dd", "dt"})
    | frozenset({"svg", "math", "a", "nobr", "button", "option", "optgroup"})
    | frozenset({"td", "th", "tr", "tbody", "thead", "tfoot"})
)

# What the children of an element are read as. UNSURE (MathML annotation-xml) takes the
# deep side of every choice: self-closing tags count as open, raw text is read as markup.
_HTML, _SVG, _MATH, _UNSURE = range(4)
_NOAHS_ARK = 3  # the parser keeps at most three identical formatting elements to reopen
# Formatting elements left open across blocks that may wait to be reopened. The parser
# reopens every one of them in each new block: 160 of them in 20,000 paragraphs made 40 MB of
# markup out of 0.3 MB. Past this many, new formatting tags are removed too.
MAX_REOPENED = 8


@dataclass(frozen=True, slots=True)
class Flattened:
    """The markup with over-deep tags removed, and how many start tags that removed."""

    html: str
    removed: int


class _Model:
    """The open elements an HTML5 parser would hold, approximately and never too few."""

    def __init__(self) -> None:
        self.stack: list[tuple[str, int, str]] = []  # (name, how its children are read, tag)
        self.counts: dict[str, int] = {}
        self.reopen: dict[str, list[str]] = {}  # name -> tags closed early, to be reopened
        self.reopen_total = 0

    @property
    def depth(self) -> int:
        return len(self.stack) + self.reopen_total

    @property
    def context(self) -> int:
        return self.stack[-1][1] if self.stack else _HTML

    @property
    def top(self) -> str:
        return self.stack[-1][0] if self.stack else ""

    def push(self, name: str, children: int, tag: str = "") -> None:
        self.stack.append((name, children, tag))
        self.counts[name] = self.counts.get(name, 0) + 1

    def pop_top(self) -> None:
        name, _, _ = self.stack.pop()
        self.counts[name] -= 1

    def _pop(self, *, remember: bool) -> str:
        name, _, tag = self.stack.pop()
        self.counts[name] -= 1
        if remember and name in _FORMATTING:
            keys = self.reopen.setdefault(name, [])
            if keys.count(tag) < _NOAHS_ARK:
                keys.append(tag)
                self.reopen_total += 1
        return name

    def forget(self, name: str) -> bool:
        """A formatting element closed early is closed for good: no longer reopened."""
        keys = self.reopen.get(name)
        if not keys:
            return False
        keys.pop()
        self.reopen_total -= 1
        return True

    def close(self, name: str, *, through: frozenset[str] | None, stop: frozenset[str]) -> bool:
        """Pop up to and including the nearest ``name`` when every HTML element above it is
        in ``through`` (None: any) and none is in ``stop``; formatting elements popped on the
        way are remembered, to be reopened."""
        if not self.counts.get(name):
            return False
        for above, children, _ in reversed(self.stack):
            if above == name:
                break
            if children in (_SVG, _MATH):
                continue  # foreign elements are closed on the way
            if above in stop or (through is not None and above not in through):
                return False
        while self.stack[-1][0] != name:
            self._pop(remember=True)
        self._pop(remember=False)
        return True

    def remove(self, name: str) -> bool:
        """Take the nearest ``name`` out and leave what it holds open (adoption agency)."""
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == name:
                del self.stack[i]
                self.counts[name] -= 1
                return True
        return False

    def breakout(self) -> None:
        while self.stack and self.stack[-1][1] in (_SVG, _MATH):
            self._pop(remember=False)


def flatten(html: str, max_depth: int = MAX_DEPTH, *, unchecked: int = 0) -> Flattened:
    """``html`` with every tag that would nest an element deeper than ``max_depth`` removed.

    Linear in the length of ``html``. Text is kept; a removed tag leaves a space, so words
    on either side stay apart. Markup of at most ``unchecked`` tags is returned as it is:
    for callers whose parser copes with that many levels, small fragments are not worth
    the pass.
    """
    if html.count("<") <= max(max_depth, unchecked):  # cannot nest deeper than it has tags
        return Flattened(html, 0)
    model = _Model()
    out: list[str] = []
    removed = 0
    pos = 0  # everything before pos is handled
    emitted = 0  # everything before emitted is in out
    n = len(html)

    def drop(start: int, end: int, *, count: bool = True) -> None:
        nonlocal emitted, removed
        out.append(html[emitted:start])
        out.append(" ")
        emitted = end
        removed += count

    search = _TOKEN.search
    stack, counts = model.stack, model.counts
    while (match := search(html, pos)) is not None:
        bang, bogus, is_end, name, self_closing = match.groups()
        lt = match.start()
        if bang:
            pos = _comment_end(html, lt)
            continue
        if bogus:
            end = html.find(">", lt)
            pos = n if end < 0 else end + 1
            continue
        pos = match.end()
        name = name.lower()
        if is_end:
            if stack and stack[-1][0] == name:  # well nested: the common case
                model.pop_top()
            # Once tags are removed, the end tags left stray by it go too (but </p> and </br>,
            # which make an element).
            elif not _end_tag(model, name) and removed and name not in ("p", "br"):
                drop(lt, pos, count=False)
            continue
        context = stack[-1][1] if stack else _HTML
        if context == _HTML and name not in _SPECIAL_START:  # plain HTML: the common case
            if name in _VOID:
                continue
            if name in _CLOSES_P and counts.get("p"):
                model.close("p", through=None, stop=_SCOPE)
            element = children = _HTML
        else:
            if context in (_SVG, _MATH) and name in _BREAKOUT:
                model.breakout()
                context = model.context
            if name in ("svg", "math"):
                element = children = _SVG if name == "svg" else _MATH
            elif context in (_SVG, _MATH):
                element, children = context, _children_of_foreign(context, name)
            elif context == _UNSURE:
                element = children = _UNSURE
            else:
                element = children = _HTML
            if element == _HTML and name in _VOID:
                continue
            if element in (_SVG, _MATH) and self_closing:
                continue
            if element == _HTML and name in _RAW_TEXT:
                end = _raw_text_end(html, pos, name)
                if model.depth >= max_depth:
                    drop(lt, end)
                pos = end
                continue
            if element == _HTML:
                _implied_closes(model, name)
                for implied in _implied_opens(model, name):
                    model.push(implied, _HTML)
        too_many = name in _FORMATTING and model.reopen_total >= MAX_REOPENED
        if too_many or len(stack) + model.reopen_total >= max_depth:
            drop(lt, pos)
            continue
        model.push(name, children, match.group(0).lower() if name in _FORMATTING else "")
    out.append(html[emitted:])
    return Flattened("".join(out), removed)


def _implied_opens(model: _Model, name: str) -> tuple[str, ...]:
    """Elements the parser inserts before this one: a <tbody> for a row, a row for a cell."""
    top = model.top
    if name in ("td", "th"):
        if top == "table":
            return ("tbody", "tr")
        if top in ("tbody", "thead", "tfoot"):
            return ("tr",)
    if name == "tr" and top == "table":
        return ("tbody",)
    return ()


def _children_of_foreign(namespace: int, name: str) -> int:
    if namespace == _SVG:
        return _HTML if name in ("foreignobject", "desc", "title") else _SVG
    if name in ("mi", "mo", "mn", "ms", "mtext"):
        return _HTML
    return _UNSURE if name == "annotation-xml" else _MATH


def _implied_closes(model: _Model, name: str) -> None:
    """Close what an HTML start tag closes before it opens: an open <p>, a previous <li>…"""
    if name in _CLOSES_P or name in _HEADINGS:
        model.close("p", through=None, stop=_SCOPE)
    if name == "li":
        model.close("li", through=_PHRASING | {"address", "div", "p"}, stop=_SCOPE)
    elif name in ("dd", "dt"):
        for item in ("dd", "dt"):
            model.close(item, through=_PHRASING | {"address", "div", "p"}, stop=_SCOPE)
    elif name in _HEADINGS:
        if model.stack and model.stack[-1][0] in _HEADINGS:
            model.close(model.stack[-1][0], through=frozenset(), stop=_SCOPE)
    elif name in ("td", "th"):
        for cell in ("td", "th"):
            model.close(cell, through=None, stop=frozenset({"table"}))
    elif name == "tr":
        model.close("tr", through=None, stop=frozenset({"table"}))
    elif name in ("tbody", "thead", "tfoot"):
        for section in ("tbody", "thead", "tfoot"):
            model.close(section, through=None, stop=frozenset({"table"}))
    elif name in ("option", "optgroup"):
        if model.stack and model.stack[-1][0] == "option":
            model.close("option", through=frozenset(), stop=frozenset())
        if name == "optgroup" and model.stack and model.stack[-1][0] == "optgroup":
            model.close("optgroup", through=frozenset(), stop=frozenset())
    elif name in ("a", "nobr"):  # a second <a> closes the first, however misnested
        if not model.close(name, through=_PHRASING, stop=_SCOPE):
            model.remove(name)
        model.forget(name)
    elif name == "button":
        model.close("button", through=None, stop=_SCOPE - {"button"})


def _end_tag(model: _Model, name: str) -> bool:
    """Apply an end tag to the model; False when it matches nothing open (a stray)."""
    if name in _FORMATTING:
        if model.close(name, through=_PHRASING, stop=_SCOPE):
            return True
        if model.remove(name):  # a block inside it stays open, under a copy of it
            return True
        return model.forget(name)
    if name in _BLOCK_END or name in _HEADINGS:
        if name in _HEADINGS:
            return any(
                model.close(h, through=None, stop=_SCOPE) for h in _HEADINGS if model.counts.get(h)
            )
        return model.close(name, through=None, stop=_SCOPE)
    if name in ("td", "th", "tr", "tbody", "thead", "tfoot", "table", "caption"):
        return model.close(name, through=None, stop=_TABLE_SCOPE - {name})
    if name == "li":
        return model.close(name, through=None, stop=_SCOPE | {"ol", "ul"})
    if name in ("dd", "dt", "p", "option", "optgroup", "button", "select", "form"):
        return model.close(name, through=None, stop=_SCOPE - {name})
    return model.close(name, through=_PHRASING, stop=_SCOPE)


def _comment_end(html: str, lt: int) -> int:
    """Where a ``<!`` construct starting at ``lt`` ends, as the HTML5 tokenizer reads it."""
    if not html.startswith("<!--", lt):
        end = html.find(">", lt)  # a doctype, or a bogus comment up to the next ">"
        return len(html) if end < 0 else end + 1
    if html.startswith(">", lt + 4):  # "<!-->"
        return lt + 5
    if html.startswith("->", lt + 4):  # "<!--->"
        return lt + 6
    end = _COMMENT_END.search(html, lt + 4)  # one search for both: never a scan per comment
    return end.end() if end else len(html)


def _raw_text_end(html: str, pos: int, name: str) -> int:
    """Where a raw-text element's content ends: after its end tag, or at the end of input.

    Any ``</name`` ends it here, even one the tokenizer would read on past, so the model never
    skips markup the parser sees.
    """
    lowered_at = _find_ci(html, f"</{name}", pos)
    if lowered_at < 0:
        return len(html)
    close = html.find(">", lowered_at)
    return len(html) if close < 0 else close + 1


def _find_ci(text: str, needle: str, start: int) -> int:
    """Case-insensitive ``str.find`` without lower-casing the whole text at every call."""
    pattern = _RAW_END.get(needle)
    if pattern is None:
        pattern = _RAW_END[needle] = re.compile(re.escape(needle), re.IGNORECASE)
    match = pattern.search(text, start)
    return match.start() if match else -1


_RAW_END: dict[str, re.Pattern[str]] = {}
_COMMENT_END = re.compile("--!?>")
