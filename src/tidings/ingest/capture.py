"""Recover the article from a plain-text page capture (select-all, copy, paste into a file).

A capture is one article wrapped in page furniture: menus, ad slots, promos, share bars,
captions, video widgets, link lists and footers, all flattened to bare lines. Nothing marks
which line is which, so the parser works from structure, not position:

1. every line is classified on its own (:mod:`tidings.ingest.furniture`): prose, a short
   line, a bullet, a byline, a date, a photo caption, a video widget, furniture, or a
   marker after which pages list other stories;
2. a few passes fix what needs context (a promo box's blurb, a video's repeated title,
   a byline split over lines, key points under a "Key points" heading);
3. the headline is the short line that best heads the largest run of prose: closest above
   it, not inside a menu-like run of short lines, and followed by a byline, date or key
   points;
4. the body runs from the first prose line after the headline for as long as prose
   outweighs the short lines in between, and stops at a footer (copyright, tags,
   comments: unless paragraphs carry straight on, as after a share bar's "Comments" link)
   or at a "Most read"-style list that no further paragraphs follow; the lines around the
   headline give key points, labels, byline, date and image.

No rule is keyed to one site (sites named in comments are examples); the word lists are
in furniture.py.

Every pass is linear in the number of lines, lines too long to be anything but text skip
the per-line word lists, and lines left when the document's time budget runs out
(:mod:`tidings.ingest.budget`) are cut with a warning, so no capture's shape can pin a core.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from functools import cache
from itertools import pairwise

from tidings.errors import ParseError
from tidings.ingest import decoding
from tidings.ingest import furniture as f
from tidings.ingest.budget import Budget
from tidings.ingest.text import clean_line
from tidings.models import Document, Image, Media, Parsed, ParsedArticle


class Kind(Enum):
    """What one line of a capture is."""

    JUNK = "junk"  # page controls, ads, promos, counters: never shown
    END = "end"  # footer, tags, comments: the article is over
    LINKS = "links"  # "Most read"-style heading over other stories' links
    CAPTION = "caption"  # photo caption and/or credit
    BYLINE = "byline"
    DATE = "date"
    DURATION = "duration"  # a video player's running time
    MEDIA = "media"  # a video's title
    URL = "url"
    BULLET = "bullet"
    PROSE = "prose"  # sentence-like: ends like a sentence, or is too long for a heading
    SHORT = "short"  # anything else: headlines, labels, menu items, crossheads, links


@dataclass(slots=True)
class Line:
    """One non-blank line, what it was taken for, and what it carries."""

    text: str
    kind: Kind
    blank_before: bool = False
    blank_after: bool = False
    bullet: bool = False
    key_point_heading: bool = False
    caption: f.Caption | None = None
    byline: str | None = None  # set on BYLINE lines, or as a hint on SHORT ones
    date: f.DateLine | None = None
    media: Media | None = None
    seconds: int | None = None
    _words: tuple[str, int] | None = field(default=None, repr=False)

    @property
    def words(self) -> int:
        """Words of the text, counted once (the passes ask for it many times per line)."""
        if self._words is None or self._words[0] is not self.text:
            self._words = (self.text, f.words(self.text))
        return self._words[1]


# Lines the structure passes look through when asking "what comes next?".
_SEE_THROUGH = frozenset({Kind.JUNK, Kind.END, Kind.LINKS, Kind.URL})
# What sits between a headline and its text on most pages.
_HEADER_KINDS = frozenset({Kind.BYLINE, Kind.DATE, Kind.CAPTION, Kind.BULLET, Kind.MEDIA})

# A line ends like a sentence: final punctuation, then maybe closing quotes or brackets.
# (。！？ end Chinese and Japanese sentences, । Hindi and Bengali ones.)
_SENTENCE_END = re.compile(r"[.!?…:;。！？।][\"'”’»)\]」』）]*$")
_QUESTION_END = re.compile(r"[?!？！][\"'”’»)\]」』）]*$")
# Punctuation inside a line that only running text has: a comma, or a sentence ending after
# a lower-case word. Long lines without any are tag clouds, archive lists or name lists.
_INNER_PUNCTUATION = re.compile(r"[,;，、。]|[a-zß-ÿ]{2}[.!?]\s")
# Beyond this many words, a line with commas is a sentence that lost its full stop (or a
# standfirst), not a heading.
_LONGEST_HEADING = 30
# How truncated teasers end: "…", "..." or, cut off mid-word, "..".
_TRUNCATED_END = re.compile(r"(\.\.\.?|…)[\"'”’»)\]]*$")

# Screen-reader labels some sites put on a line of their own before a caption.
_SPLIT_LABEL = re.compile(
    r"^(image source|image caption|media caption|video caption)\s*[,:]?$", re.I
)

_ADDRESS = re.compile(r"\S@\S|https?://|www\.", re.IGNORECASE)

# Words that make up a large share of any English text; enough of them means English.
_ENGLISH = frozenset(
    ("the", "and", "of", "to", "in", "is", "that", "for", "was", "on", "with", "as", "it", "at")
)

# Headline choice (see _choose_headline): costs in "words of body text" units.
_BLOCK_COST = 10  # per block of other short lines between a candidate and the body
_RUN_COST = 25  # the candidate sits in a menu-like run of short lines
_LABEL_COST = 15  # the candidate reads like a topic label, not a headline
_BYLINE_BONUS = 40
_DATE_BONUS = 25
_KEY_POINTS_BONUS = 30
_CAPTION_BONUS = 10
_DECK_BONUS = 5  # a line right under it reads as its standfirst or pull quote
_SMALL_BODY_COST = 0.05  # per word the main body has and the candidate's body lacks
# ... and for the share of it that it lacks: a newsletter box or a comment under a menu
# must not win over an article many times its size on header cues alone.
_MINOR_BODY_COST = 100
_WORST_HEADLINE = 100  # above this, no line is believably the headline
_SHORTEST_HEADLINE = 3  # words; shorter lines are tried only when no longer one heads text
_BODY_BEFORE_END = 40  # words of body before an end marker is believed
_LINKS_COST = 40  # a "Most read" heading inside the body must be outweighed by what follows


def parse(doc: Document, budget: Budget | None = None) -> Parsed:
    """The one article in a page capture, with the furniture around it stripped."""
    budget = budget or Budget()
    if not doc.data.strip():
        raise ParseError("empty file: there is no text to read")
    text, warnings = _decode(doc.data)
    if not text.strip():
        raise ParseError("empty file: it holds only whitespace")
    lines = _lines(text, budget, warnings)
    _resolve_context(lines)
    article = _Assembler(lines, warnings).article()
    article.raw = text
    return Parsed(articles=[article], warnings=warnings)


# --- decoding ------------------------------------------------------------------------------


def _decode(data: bytes) -> tuple[str, list[str]]:
    """The text of ``data``: BOM or UTF-8 first, then charset_normalizer's best guess."""
    if b"\x00" in data and decoding.bom_encoding(data) in (None, "utf-8-sig"):
        raise ParseError("binary data, not text (it contains NUL bytes)")
    try:
        text, guessed = decoding.decode(data)
    except UnicodeDecodeError as exc:
        raise ParseError(f"binary data, not text (invalid {exc.encoding}: {exc.reason})") from exc
    except ValueError as exc:
        raise ParseError(f"binary data, not text ({exc})") from exc
    warnings = [f"not UTF-8: decoded as {guessed} (a guess)"] if guessed else []
    return _check_text(text), warnings


# Unicode's control characters (category Cc) but for tab, line feed, vertical tab, form feed
# and carriage return.
_CONTROL = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f]")


def _check_text(text: str) -> str:
    """``text`` unless control characters show it was binary data after all."""
    controls = sum(1 for _ in _CONTROL.finditer(text))
    if controls > max(2, len(text) // 100):
        raise ParseError("binary data, not text (it is full of control characters)")
    return text


# --- per-line classification ---------------------------------------------------------------


_BUDGET_EVERY = 256  # lines classified between looks at the clock
# Share of the budget for classifying lines: the passes over them after take about a third
# as long again.
_CLASSIFY_SHARE = 0.7


def _lines(text: str, budget: Budget, warnings: list[str]) -> list[Line]:
    """The non-blank lines of ``text``, classified, each knowing whether blanks surround it;
    those left when ``budget`` runs out are cut, with a warning."""
    lines: list[Line] = []
    blank = False
    label = ""
    raws = text.splitlines()
    for number, raw in enumerate(raws, start=1):
        if number % _BUDGET_EVERY == 0 and budget.past(_CLASSIFY_SHARE):
            warnings.append(
                f"capture cut at line {number} of {len(raws)}: reading it took {budget.describe()}"
            )
            break
        cleaned = clean_line(raw.replace("\ufeff", ""))
        if not cleaned:
            blank = True
            if lines:
                lines[-1].blank_after = True
            continue
        if _SPLIT_LABEL.match(cleaned):  # "Image caption," / "The lorry went …" (BBC)
            label = cleaned.rstrip(",:") + ", "
            continue
        line = _classify(label + cleaned)
        label = ""
        line.blank_before = blank
        lines.append(line)
        blank = False
    return lines


# Longer lines are text (or junk shown as text): no byline, caption or menu item is this long,
# and the word lists' patterns need not run over them.
_LONGEST_CLASSIFIED = 2000


def _classify(text: str) -> Line:
    """What one cleaned line is, judged on its own."""
    if len(text) > _LONGEST_CLASSIFIED:
        ends = text[:_LONGEST_CLASSIFIED] + " " + text[-_LONGEST_CLASSIFIED:]
        n = f.words(text)
        return Line(text, _shape(ends, n), _words=(text, n))
    bullet, item = f.split_bullet(text)
    if not item:
        return Line(text, Kind.JUNK, bullet=bullet)
    line = Line(item, Kind.SHORT, bullet=bullet)
    if f.URL_LINE.match(item):
        line.kind = Kind.URL
    elif (title := f.video_title(item)) is not None:
        line.kind, line.media = Kind.MEDIA, Media(kind="video", title=title)
    elif (seconds := f.duration_seconds(item)) is not None:
        line.kind, line.seconds = Kind.DURATION, seconds
    elif f.normalised(item) in f.KEY_POINT_HEADINGS:
        line.kind, line.key_point_heading = Kind.JUNK, True
    elif caption := f.photo_caption(item):
        line.kind, line.caption = Kind.CAPTION, caption
    elif f.is_end_marker(item):
        line.kind = Kind.END
    elif f.is_links_heading(item):
        line.kind = Kind.LINKS
    elif f.is_furniture(item):
        line.kind = Kind.JUNK
    elif both := f.byline_and_date(item):
        line.kind, (line.byline, line.date) = Kind.DATE, both
    elif name := f.byline(item):
        line.kind, line.byline = Kind.BYLINE, name
    elif date := f.date_line(item):
        line.kind, line.date = Kind.DATE, date
    elif bullet:
        line.kind = Kind.BULLET
    else:
        line.kind = _shape(item)
        if line.kind is Kind.SHORT:
            line.byline = f.byline_in_place(item) or f.byline_with_role(item) or f.names_only(item)
    return line


def _shape(text: str, n: int | None = None) -> Kind:
    """PROSE for sentence-like lines, SHORT for heading-like ones (``n``: its words)."""
    n = f.words(text) if n is None else n
    if _TRUNCATED_END.search(text) and n < 15:  # a truncated teaser link
        return Kind.SHORT
    if _QUESTION_END.search(text) and n <= 12:  # question headlines and crossheads
        return Kind.SHORT
    if _SENTENCE_END.search(text):
        needed = 6 if text.endswith((":", ";")) else 3
        return Kind.PROSE if n >= needed else Kind.SHORT
    if not _INNER_PUNCTUATION.search(text):
        return Kind.SHORT
    return Kind.PROSE if n > _LONGEST_HEADING else Kind.SHORT


# --- passes that need neighbouring lines ---------------------------------------------------


def _resolve_context(lines: list[Line]) -> None:
    """Reclassify lines whose meaning depends on the lines around them."""
    _join_split_bylines(lines)
    _name_then_role(lines)
    _key_points_under_heading(lines)
    _promo_boxes(lines)
    _video_widgets(lines)
    _link_lists(lines)
    _credit_then_caption(lines)
    _lead_ins(lines)


def _join_split_bylines(lines: list[Line]) -> None:
    """ "By" / "Jane Doe" / "and" / "John Roe" on separate lines is one byline."""
    for i, line in enumerate(lines):
        if line.text.lower() not in {"by", "by:"}:
            continue
        parts: list[str] = []
        k = i + 1
        while k < len(lines) and k <= i + 7:
            text = lines[k].text
            if text.lower() in {"and", "&", ","}:
                parts.append("and")
            elif f.is_person_name(text):
                parts.append(text)
            else:
                break
            k += 1
        while parts and parts[-1] == "and":
            parts.pop()
            k -= 1
        if parts:
            names = " ".join(parts)
            line.kind, line.byline, line.text = Kind.BYLINE, names, f"By {names}"
            for joined in lines[i + 1 : k]:
                joined.kind = Kind.JUNK


def _name_then_role(lines: list[Line]) -> None:
    """A name line followed by a job-title line ("Political correspondent") is a byline, and
    the job title or outlet ("BBC News") under a byline is part of it, not a topic label."""
    for prev, line in pairwise(lines):
        if line.kind is not Kind.SHORT or not f.is_role_line(line.text):
            continue
        if prev.kind is Kind.SHORT and f.is_person_name(prev.text):
            prev.byline = prev.text
            line.kind = Kind.JUNK
        elif prev.byline:
            line.kind = Kind.JUNK


def _key_points_under_heading(lines: list[Line]) -> None:
    """Lines under a "Key points"/"Story highlights" heading are key points, bulleted or not."""
    for i, line in enumerate(lines):
        if not line.key_point_heading:
            continue
        first = lines[i + 1].kind if i + 1 < len(lines) else None
        for item in lines[i + 1 : i + 7]:
            # the list ends at a blank line, or where lines change from headline-like to
            # sentences (or back): that is the article starting
            if item.kind is not first or item.kind not in (Kind.SHORT, Kind.PROSE, Kind.BULLET):
                break
            if item.words > 35:
                break
            item.kind = Kind.BULLET
            if item.blank_after:
                break


def _promo_boxes(lines: list[Line]) -> None:
    """A promo's blurb between its opener ("Get more with X") and button ("Learn more")."""
    for i, line in enumerate(lines):
        if not f.is_promo_opener(line.text):
            continue
        for k in range(i + 1, min(i + 4, len(lines))):
            if f.is_call_to_action(lines[k].text):
                for promo in lines[i:k]:
                    promo.kind = Kind.JUNK
                break


def _video_widgets(lines: list[Line]) -> None:
    """A duration ("03:56") and the title shown with it, often twice, are one video."""
    for i, line in enumerate(lines):
        if line.kind is Kind.MEDIA and line.media and line.media.title:  # "Watch: title"
            _drop_repeats(lines, i, line.media.title)
        if line.kind is not Kind.DURATION:
            continue
        titled = next((ln for ln in lines[i + 1 : i + 3] if ln.kind not in _SEE_THROUGH), None)
        if titled is not None and titled.kind is Kind.MEDIA and titled.media:  # then "Watch: …"
            titled.media = Media(
                kind="video", title=titled.media.title, duration_seconds=line.seconds
            )
            line.kind = Kind.JUNK
            continue
        title_at = _video_title_at(lines, i)
        if title_at is None:
            line.kind, line.media = Kind.MEDIA, Media(kind="video", duration_seconds=line.seconds)
            continue
        title = lines[title_at].text
        line.kind = Kind.MEDIA
        line.media = Media(kind="video", title=title, duration_seconds=line.seconds)
        lines[title_at].kind = Kind.JUNK
        _drop_repeats(lines, min(i, title_at), title)


def _drop_repeats(lines: list[Line], i: int, title: str) -> None:
    """Players often print a video's title twice more, right after the first one."""
    for other in lines[i + 1 : i + 5]:
        if other.text == title and other.kind is not Kind.MEDIA:
            other.kind = Kind.JUNK


def _video_title_at(lines: list[Line], i: int) -> int | None:
    """Where the title of the video whose duration is at ``i`` is: just after, or before."""
    for k in range(i + 1, min(i + 4, len(lines))):
        candidate = lines[k]
        if candidate.kind in _SEE_THROUGH:
            continue
        if candidate.kind in (Kind.SHORT, Kind.PROSE) and 2 <= candidate.words <= 30:
            return k
        break
    before = i - 1
    if before >= 0 and lines[before].kind is Kind.SHORT and lines[before].words >= 2:
        return before
    return None


def _link_lists(lines: list[Line]) -> None:
    """Headlines under a lone "Read more"/"Related" heading are links to other stories."""
    for i, line in enumerate(lines):
        if line.kind not in (Kind.JUNK, Kind.SHORT) or not f.is_link_list_heading(line.text):
            continue
        line.kind = Kind.JUNK
        for k in range(i + 1, len(lines)):
            if lines[k].kind is not Kind.SHORT:
                break
            lines[k].kind = Kind.JUNK


def _credit_then_caption(lines: list[Line]) -> None:
    """BBC-style "Image source, X" then "Image caption, Y" is one captioned photo."""
    for prev, line in pairwise(lines):
        if (
            prev.kind is Kind.CAPTION
            and line.kind is Kind.CAPTION
            and prev.caption
            and line.caption
            and prev.caption.caption is None
            and line.caption.credit is None
        ):
            line.caption = f.Caption(line.caption.caption, prev.caption.credit)
            prev.kind = Kind.JUNK


def _lead_ins(lines: list[Line]) -> None:
    """A short sentence right after a paragraph ending in a colon is what it leads in to
    ("… and one certainty:" / "Enthusiasm is catching!"), not a heading."""
    for prev, line in pairwise(lines):
        if (
            prev.kind is Kind.PROSE
            and prev.text.endswith(":")
            and line.kind is Kind.SHORT
            and not line.blank_before
            and _SENTENCE_END.search(line.text)
        ):
            line.kind = Kind.PROSE


# --- page structure ------------------------------------------------------------------------


@dataclass(slots=True)
class _Zones:
    """Index ranges of the article's parts in the list of lines."""

    before: list[int] = field(default_factory=list)  # just above the headline, in order
    headline: int = 0
    header: range = range(0)  # between headline and body
    body: range = range(0)


class _Assembler:
    """Finds the headline and body in classified lines and builds the article."""

    def __init__(self, lines: list[Line], warnings: list[str]) -> None:
        self.lines = lines
        self.warnings = warnings
        self.run_before, self.run_length = _short_runs(lines)
        self.running = _running_prose(lines)
        self.next_prose: list[int | None] = [None] * len(lines)  # first prose line after each
        for k in range(len(lines) - 2, -1, -1):
            after = lines[k + 1]
            self.next_prose[k] = k + 1 if after.kind is Kind.PROSE else self.next_prose[k + 1]
        # the first line after each that is not see-through (len(lines): none)
        self.next_visible = [len(lines)] * len(lines)
        for k in range(len(lines) - 2, -1, -1):
            after = lines[k + 1]
            self.next_visible[k] = (
                k + 1 if after.kind not in _SEE_THROUGH else self.next_visible[k + 1]
            )
        self.blocks_after = self._count_blocks()
        # body start -> (last line, mass, whether an early end marker was let pass)
        self._bodies: dict[int, tuple[int, int, bool]] = {}
        self._resumes = cache(self._prose_resumes)

    # headline ----------------------------------------------------------------------------

    def article(self) -> ParsedArticle:
        zones = self._zones()
        lines = self.lines
        headline = lines[zones.headline].text
        around = [*zones.before, *zones.header]
        article = ParsedArticle(title=headline)
        article.key_points = [
            lines[k].text
            for k in zones.header
            if lines[k].kind is Kind.BULLET and lines[k].words >= 3
        ]
        article.labels = self._labels(zones, headline)
        article.paragraphs = self._paragraphs(zones.body, headline, article.key_points)
        if not article.paragraphs:
            raise ParseError("no article text found under the headline")
        # a byline or dateline may follow a standfirst, inside the body's first lines
        opening = [k for k in zones.body if lines[k].kind not in _SEE_THROUGH][:6]
        early_body = [k for k in opening if lines[k].byline or lines[k].date]
        article.byline = self._byline([*around, *early_body])
        article.published = self._published([*around, *early_body])
        article.image = self._image([*around, *zones.body])
        article.media = self._media([*around, *zones.body])
        article.url = next((lines[k].text for k in around if lines[k].kind is Kind.URL), None)
        article.language = _language(article.paragraphs)
        return article

    def _zones(self) -> _Zones:
        headline = self._choose_headline()
        body_start = self._next_prose(headline)
        assert body_start is not None  # a candidate always has prose after it
        body_end, _ = self.body_end(body_start)
        return _Zones(
            before=self._before(headline),
            headline=headline,
            header=range(headline + 1, body_start),
            body=range(body_start, body_end + 1),
        )

    def _choose_headline(self) -> int:
        """The short line that best heads the main body (lowest cost, see constants); a
        one- or two-word line ("Hello again!") only when no longer one will do."""
        if not any(line.kind is Kind.PROSE for line in self.lines):
            raise ParseError("no article text found: no line reads like a paragraph")
        for shortest in (_SHORTEST_HEADLINE, 1):
            best = self._best_candidate(shortest)
            if best is not None and best[0] <= _WORST_HEADLINE:
                return best[1]
        raise ParseError("no recognisable headline: no title-like line above the text")

    def _best_candidate(self, shortest: int) -> tuple[float, int] | None:
        """The cost and index of the best headline of at least ``shortest`` words."""
        scored: list[tuple[float, int, int]] = []  # (cost, body mass, line index)
        starts = {
            i: self._next_prose(i)
            for i, ln in enumerate(self.lines)
            if self._is_candidate(ln, shortest)
        }
        for start in sorted({s for s in starts.values() if s is not None}, reverse=True):
            self.body_end(start)  # last first, so each scan can stop at a body already measured
        for i, start in starts.items():
            if start is None:
                continue
            _, mass = self.body_end(start)
            # A crosshead has the article's opening prose running into it; a headline
            # follows menus and furniture, which leave nothing running.
            cost = self._headline_cost(i, start) + self.running[i]
            scored.append((cost, mass, i))
        if not scored:
            return None
        # Prefer lines heading the main body to ones heading a teaser or a stray paragraph.
        most = max(1, max(m for _, m, _ in scored))
        return min(
            (c + _SMALL_BODY_COST * (most - m) + _MINOR_BODY_COST * (1 - m / most), i)
            for c, m, i in scored
        )

    @staticmethod
    def _is_candidate(line: Line, shortest: int = 3) -> bool:
        first = next((ch for ch in line.text if ch.isalnum()), "")
        return (
            line.kind is Kind.SHORT
            and not line.bullet
            and shortest <= line.words <= 30
            and not first.islower()  # capitalised, a digit, or a script without case
            and not _ADDRESS.search(line.text)  # headlines carry no e-mail or web addresses
        )

    def _headline_cost(self, i: int, start: int) -> float:
        lines = self.lines
        cost = 0.0
        # Blocks of other short lines between the candidate and its text; a deck right under
        # it is no block of its own (and earns a bonus).
        blocks = self.blocks_after[i]
        first = self.next_visible[i]
        if first < start and self._is_other_short(lines[first]) and self._is_deck(i, start):
            blocks -= 1
            cost -= _DECK_BONUS
        cost += _BLOCK_COST * blocks
        if self.run_before[i] >= 2:  # other headlines just above: a playlist or link list
            cost += _RUN_COST
        if _is_label_like(lines[i].text):
            cost += _LABEL_COST
        if "|" in lines[i].text:  # "Section | Headline" breadcrumbs
            cost += _BLOCK_COST
        window = self._header_window(i)
        if i > 0 and lines[i - 1].kind in (Kind.BYLINE, Kind.DATE):
            window.append(lines[i - 1])  # some pages print the dateline over the headline
        if any(ln.byline for ln in window):
            cost -= _BYLINE_BONUS
        if any(ln.kind is Kind.DATE for ln in window):
            cost -= _DATE_BONUS
        if any(ln.kind is Kind.CAPTION for ln in window):
            cost -= _CAPTION_BONUS
        if window and window[0].kind is Kind.BULLET and window[0].words >= 3:
            cost -= _KEY_POINTS_BONUS
        return cost

    def _is_deck(self, i: int, start: int) -> bool:
        """Whether the short line right under the headline at ``i`` reads as its standfirst
        or pull quote: clearly longer, or quoted, and followed (labels aside, up to the text
        at ``start``) by the byline, date, picture or text. Only a clear case counts, or a
        menu item would claim the real headline as its deck."""
        headline, k = self.lines[i], self.next_visible[i]
        if k >= start:
            return False
        deck = self.lines[k]
        longer = deck.words >= max(10, 1.3 * headline.words)
        if not (longer or deck.text[0] in "‘“\"'"):
            return False
        k = self.next_visible[k]
        while k < start and _is_label_like(self.lines[k].text):
            k = self.next_visible[k]
        return k >= start or self.lines[k].kind in _HEADER_KINDS

    def _count_blocks(self) -> list[int]:
        """For each line, how many blocks of other short lines (see _is_other_short) lie
        between it and the next prose line: one backward pass, where asking each headline
        candidate in turn would cost the square of a long run of short lines."""
        lines = self.lines
        blocks = [0] * len(lines)
        count = 0  # blocks from k + 1 up to the next prose line
        next_other = False  # the next visible line (before that prose) is an other-short one
        for k in range(len(lines) - 1, -1, -1):
            blocks[k] = count
            line = lines[k]
            if line.kind is Kind.PROSE:
                count, next_other = 0, False
            elif line.kind not in _SEE_THROUGH:
                other = self._is_other_short(line)
                if other and not next_other:
                    count += 1  # the last line of a block, seen from below
                next_other = other
        return blocks

    def _header_window(self, i: int) -> list[Line]:
        """Up to 8 lines under line ``i`` that could be its byline, date, caption or key
        points: up to the second paragraph, to allow for a standfirst."""
        window: list[Line] = []
        paragraphs = 0
        k = i
        while (k := self.next_visible[k]) < len(self.lines):
            line = self.lines[k]
            paragraphs += line.kind is Kind.PROSE
            if paragraphs == 2 or len(window) == 8:
                break
            window.append(line)
        return window

    def _is_other_short(self, line: Line) -> bool:
        """A short line that is neither a label nor a byline: a sign of something in between."""
        return line.kind is Kind.SHORT and not line.byline and not _is_label_like(line.text)

    def _next_prose(self, i: int) -> int | None:
        return self.next_prose[i]

    def body_end(self, start: int) -> tuple[int, int]:
        """Last line of the body starting at ``start``, and its mass in words.

        Prose adds its words and short lines subtract a little, so a crosshead, an ad or a
        video playlist inside the article is crossed but a list of other headlines at its
        end is not; a footer or a "Most read"-style heading stops it outright, once there
        is some body (a "Comments" link often sits in the share bar under a standfirst).
        """
        if start not in self._bodies:
            self._bodies[start] = self._measure_body(start)
        end, mass, _ = self._bodies[start]
        return end, mass

    def _measure_body(self, start: int) -> tuple[int, int, bool]:
        total = best = 0
        end = start
        short_run = 0
        let_pass = False  # an end marker came before there was enough body to believe it
        for k in range(start, len(self.lines)):
            line = self.lines[k]
            if line.kind in (Kind.END, Kind.LINKS):
                if total < _BODY_BEFORE_END:
                    let_pass = True
                elif self._ends_body(k):
                    break
            known = self._bodies.get(k) if k > start and line.kind is Kind.PROSE else None
            if known is not None and total >= _BODY_BEFORE_END and not known[2]:
                # from here on the scan would repeat one already made: reuse it
                if total + known[1] > best:
                    best, end = total + known[1], known[0]
                break
            total += _score(line)
            if line.kind in (Kind.SHORT, Kind.BULLET) and _score(line) < 0:
                short_run += 1
                if short_run >= 40:  # a whole site menu: the article is behind us
                    break
            elif line.kind is Kind.PROSE:
                short_run = 0
            if total > best:
                best, end = total, k
        return end, best, let_pass

    def _ends_body(self, k: int) -> bool:
        """Whether the end marker or link-list heading at ``k`` closes the body. A footer
        always does; a "Comments" heading does unless paragraphs carry straight on (it was
        a link in a share bar); a "Most read" box unless the article resumes after it."""
        line = self.lines[k]
        if line.kind is Kind.LINKS:
            return not self._resumes(k)
        if f.is_footer(line.text):
            return True
        for _ in range(3):  # the next three visible lines must all be paragraphs
            k = self.next_visible[k]
            if k >= len(self.lines) or self.lines[k].kind is not Kind.PROSE:
                return True
        return False

    def _prose_resumes(self, k: int) -> bool:
        """Whether running paragraphs (three in a row) come after the link list at ``k``, as
        when a "Most read" box sits inside an article; teasers alternate with titles."""
        in_row = 0
        for line in self.lines[k + 1 :]:
            if line.kind in (Kind.END, Kind.LINKS):
                return False
            if line.kind is Kind.PROSE:
                in_row += 1
                if in_row == 3:
                    return True
            elif line.kind is not Kind.JUNK:
                in_row = 0
        return False

    def _before(self, headline: int) -> list[int]:
        """Lines just above the headline that may belong to it: labels, caption, dateline."""
        picked: list[int] = []
        seen = 0
        for k in range(headline - 1, -1, -1):
            line = self.lines[k]
            if line.kind in (Kind.JUNK, Kind.END, Kind.LINKS):
                continue
            seen += 1
            if seen > 8 or line.kind is Kind.PROSE:
                break
            if seen == 1 and self._is_kicker(k):
                picked.append(k)
                continue
            menu_item = not _is_label_like(line.text) or self.run_length[k] >= 3
            if line.kind is Kind.SHORT and not line.byline and menu_item:
                break
            if line.kind is Kind.BULLET and (self.run_length[k] >= 3 or line.words >= 5):
                break
            picked.append(k)
        return picked[::-1]

    def _is_kicker(self, k: int) -> bool:
        """A section label printed right over the headline, even at the end of a menu: the
        line before it must not be label-like too, or it is just the menu's last item."""
        line = self.lines[k]
        if line.kind not in (Kind.SHORT, Kind.BULLET) or not _is_label_like(line.text, kicker=True):
            return False
        above = self.lines[k - 1] if k else None
        return above is None or above.kind in _SEE_THROUGH or not _is_label_like(above.text)

    # parts -------------------------------------------------------------------------------

    def _labels(self, zones: _Zones, headline: str) -> list[str]:
        """Topic labels: the kicker and lone tags just above the headline, and tags listed
        under a "Tags"/"Topics" heading between headline and text. Other short lines under
        the headline are share buttons and widgets more often than topics."""
        found: list[str] = []
        for k in zones.before:
            line = self.lines[k]
            if (
                line.kind in (Kind.SHORT, Kind.BULLET)
                and not line.byline
                and (self._is_kicker(k) or (_is_label_like(line.text) and self.run_length[k] < 3))
            ):
                found.append(line.text)
        tagged = False
        for k in zones.header:
            line = self.lines[k]
            if line.kind is Kind.END and (tags := f.tags_heading(line.text)) is not None:
                found.extend(tags)
                tagged = True
            elif tagged and line.kind in (Kind.SHORT, Kind.BULLET) and _is_label_like(line.text):
                found.append(line.text)
            elif line.kind not in _SEE_THROUGH:
                tagged = False
        labels: list[str] = []
        for label in found:
            if label != headline and label.casefold() not in {x.casefold() for x in labels}:
                labels.append(label)
        return labels

    def _paragraphs(self, body: range, headline: str, key_points: list[str]) -> list[str]:
        lines = self.lines
        spaced = any(lines[k].blank_before for k in body if k != body.start)
        seen = {headline, *key_points}
        paragraphs: list[str] = []
        for k in body:
            line = lines[k]
            keep = line.kind is Kind.PROSE or (line.kind is Kind.BULLET and line.words >= 2)
            if line.kind is Kind.SHORT:
                keep = self._is_crosshead(k, body, spaced)
            if keep and line.text not in seen:
                paragraphs.append(line.text)
                seen.add(line.text)
        return paragraphs

    def _is_crosshead(self, k: int, body: range, spaced: bool) -> bool:
        """A lone short line between paragraphs, set off by blank lines when the page has them."""
        line = self.lines[k]
        if line.words > 20 or line.byline:
            return False
        if spaced and not (line.blank_before or line.blank_after):
            return False  # an inline link or uncredited caption, not a heading
        prev = next(
            (
                self.lines[p]
                for p in range(k - 1, body.start - 1, -1)
                if self.lines[p].kind not in _SEE_THROUGH
            ),
            None,
        )
        after = next(
            (
                self.lines[n]
                for n in range(k + 1, body.stop)
                if self.lines[n].kind not in _SEE_THROUGH
            ),
            None,
        )
        return (
            prev is not None
            and prev.kind not in (Kind.SHORT, Kind.BYLINE)
            and after is not None
            and after.kind is Kind.PROSE
        )

    def _byline(self, indexes: list[int]) -> str | None:
        return next((self.lines[k].byline for k in indexes if self.lines[k].byline), None)

    def _published(self, indexes: list[int]) -> datetime | None:
        relative = None
        for k in indexes:
            date = self.lines[k].date
            if date and date.when:
                return date.when
            if date and date.relative and relative is None:
                relative = self.lines[k].text
        if relative:
            self.warnings.append(f"only a relative date ({relative!r}): published left empty")
        return None

    def _image(self, indexes: list[int]) -> Image | None:
        captions = [self.lines[k].caption for k in indexes if self.lines[k].kind is Kind.CAPTION]
        chosen = next((c for c in captions if c), None)
        if chosen is None:
            return None
        return Image(url=None, caption=chosen.caption, credit=chosen.credit)

    def _media(self, indexes: list[int]) -> list[Media]:
        """Each video once, however often the player repeats its title."""
        media: list[Media] = []
        for k in indexes:
            item = self.lines[k].media
            if item is None:
                continue
            same = next((m for m in media if m.title and m.title == item.title), None)
            if same is None:
                media.append(item)
            elif same.duration_seconds is None and item.duration_seconds is not None:
                media[media.index(same)] = item
        return media


def _score(line: Line) -> int:
    """A line's weight as body text: prose counts its words, heading-like lines count
    against, furniture is neutral."""
    if line.kind is Kind.PROSE or (line.kind is Kind.BULLET and _shape(line.text) is Kind.PROSE):
        return line.words
    if line.kind is Kind.SHORT:
        return -6
    if line.kind is Kind.BULLET:
        return -3
    if line.kind is Kind.LINKS:
        return -_LINKS_COST
    return 0


def _running_prose(lines: list[Line]) -> list[int]:
    """For each line, the body text running into it from above: prose adds its words, and
    heading-like lines take off more than in the body score, so that a rail of teasers
    and menus above a headline adds up to nothing while the opening paragraphs above a
    crosshead still count. Never below zero; a footer resets it."""
    running = [0] * len(lines)
    total = 0
    for k, line in enumerate(lines):
        running[k] = total
        score = _score(line)
        if line.kind in (Kind.END, Kind.LINKS):
            total = 0
        else:
            total = max(0, total + (score if score >= 0 else 15 * score // 6))
    return running


def _short_runs(lines: list[Line]) -> tuple[list[int], list[int]]:
    """For each line, how many short lines precede it in its run, and the run's length.

    A run is short lines (and short bullets) in a row, furniture in between not counting:
    menus, link lists and tag clouds are runs; a headline or a topic label stands alone.
    "Before" counts only headline-like lines (5+ words), the sign of a playlist or link list
    rather than the menu a real headline often sits under.
    """
    before = [0] * len(lines)
    length = [0] * len(lines)
    run: list[int] = []
    headline_like = 0  # lines of 5+ words in the run so far

    def close() -> None:
        nonlocal headline_like
        for k in run:
            length[k] = len(run)
        run.clear()
        headline_like = 0

    for k, line in enumerate(lines):
        if line.kind is Kind.SHORT or (line.kind is Kind.BULLET and line.words < 5):
            before[k] = headline_like
            run.append(k)
            headline_like += line.words >= 5
        elif line.kind not in _SEE_THROUGH:
            close()
    close()
    return before, length


# Words a Title-Case label leaves in lower case ("Health and Safety", "Politics & Power").
_SMALL_WORDS = frozenset(
    ("a", "an", "and", "the", "of", "in", "on", "for", "to", "at", "by", "with", "&", "vs")
)


def _is_label_like(text: str, *, kicker: bool = False) -> bool:
    """A topic tag: one to four Title-Case or capitalised words, no sentence punctuation.
    A kicker right over the headline may be in sentence case ("Offshore wind")."""
    tokens = text.split()
    if not 1 <= len(tokens) <= 4 or re.search(r"[.!?:,;|]$", text):
        return False
    if not tokens[0][:1].isupper() or not any(ch.isalpha() for ch in text):
        return False
    significant = [t for t in tokens if t.lower() not in _SMALL_WORDS]
    return kicker or (
        bool(significant) and all(t[:1].isupper() or t[:1].isdigit() for t in significant)
    )


def _language(paragraphs: list[str]) -> str | None:
    """ "en" when the text is plainly English; otherwise unknown."""
    tokens = [w.lower().strip(".,;:!?\"'“”‘’()") for p in paragraphs for w in p.split()]
    if len(tokens) < 20:
        return None
    share = sum(1 for w in tokens if w in _ENGLISH) / len(tokens)
    return "en" if share >= 0.12 else None
