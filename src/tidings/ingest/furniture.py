"""Recognisers for the lines of a page capture that are not article prose.

Newspaper people call everything around the text "furniture": headlines, bylines, dates,
captions, and on the web also ad slots, promos, share bars, menus and footers. A capture
(select-all, copy, paste) keeps all of it as bare lines, so each recogniser here looks at
one cleaned line and says what it is. The page-level decisions (which line is the headline,
where the body ends) live in :mod:`tidings.ingest.capture`.

The lists are English and deliberately conservative: a line is only furniture when it
would be odd as a sentence of an article. Long lines are never furniture except for the
few phrasings (cookie notices, form disclaimers, "sign up here") only web pages use.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from tidings.ingest.text import parse_date

# --- bullets -------------------------------------------------------------------------------

# List markers a browser or the page puts before items; "+" is how nested lists come out of
# text renderers. Numbered items ("1.", "2)") count too.
_BULLET = re.compile(r"^(?:[•·▪●◦‣○■□►▸➤*+\-–—](?=\s|$)|\d{1,2}[.)](?=\s))\s*")


def split_bullet(text: str) -> tuple[bool, str]:
    """``(True, item)`` when the line starts with a list marker, else ``(False, text)``."""
    match = _BULLET.match(text)
    if not match:
        return False, text
    return True, text[match.end() :].strip()


# Scripts written without spaces between words (Chinese, Japanese): their characters are
# counted as roughly half a word each, so "long line" means the same in every language.
_UNSPACED = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def words(text: str) -> int:
    """How many words a line has."""
    unspaced = len(_UNSPACED.findall(text))
    if not unspaced:
        return len(text.split())
    return len(_UNSPACED.sub(" ", text).split()) + (unspaced + 1) // 2


# --- plain furniture: lines that carry no article text -------------------------------------


_TRAILING_DECORATION = ":|›»>→↗…·•-–—"
_LEADING_DECORATION = "|‹«<←"
_SPACES = re.compile(r"\s+")


def normalised(text: str) -> str:
    """The line lower-cased without decoration, for exact-phrase lookups."""
    text = text.lower().replace("’", "'")
    # str.strip, not a "[…]+$" pattern: that one is quadratic on a long run of decoration.
    text = _strip_decoration(text, _TRAILING_DECORATION, str.rstrip)
    text = _strip_decoration(text, _LEADING_DECORATION, str.lstrip)
    return _SPACES.sub(" ", text).strip(" .!")


def _strip_decoration(text: str, chars: str, strip: Callable[..., str]) -> str:
    """``text`` without any run of whitespace and ``chars`` at one end."""
    while True:
        stripped = strip(strip(text), chars)
        if stripped == text:
            return text
        text = stripped


def _phrases(*groups: str) -> frozenset[str]:
    return frozenset(p.strip() for g in groups for p in g.split("|") if p.strip())


# Whole lines that are controls, not content. Matched after normalised() normalisation.
_EXACT = _phrases(
    # ad slots and sponsor labels
    "advertisement|advertisements|advert|ad|ads|sponsored|sponsored content|promoted"
    "|promoted content|paid content|paid post|partner content|paid partner|skip ad"
    "|skip advertisement|close ad|ad feedback|report this ad|supported by|presented by"
    "|powered by|in partnership with|brought to you by|sponsored by",
    # "the article goes on below the ad"
    "continue reading|continue reading the main story|continue reading below|keep reading"
    "|scroll to continue|scroll to continue with content|content continues below",
    # share bars: each network's name alone on a line is a button
    "share|share this|share this article|share this story|share article|share story"
    "|share page|about sharing|close panel|facebook|twitter|x|whatsapp|email|e-mail|mail"
    "|reddit|linkedin|flipboard|pinterest|telegram|messenger|tumblr|tweet|threads|bluesky"
    "|mastodon|instagram|youtube"
    "|tiktok|rss|sms|link|copy link|copy the link|link copied|copied|print|save"
    "|save article|save story|bookmark|gift article|gift this article|comment|more|shares",
    # audio/video player controls and gallery buttons
    "listen|listen to this article|listen to article|listen to this story|watch|watch now"
    "|watch live|live|play|play video|replay|pause|mute|unmute|full screen|fullscreen|next"
    "|previous|prev|previous next|back|back to top|up next|now playing|just watched|must watch"
    "|more videos|video|videos|photos|gallery|view gallery|enlarge|enlarge image|expand"
    "|expand image|close|toggle caption|hide caption|show caption",
    # menus, search, account and form controls
    "menu|open menu|close menu|toggle menu|main menu|primary menu|navigation|sections"
    "|search|submit|go|ok|got it|sign in|sign out|sign up|log in|log out|login|logout"
    "|register|subscribe|subscribe now|my account|your account|account|profile|welcome"
    "|notifications|edit|embed|home|follow|follow us|follow me|skip to content"
    "|skip to main content|skip to navigation|skip navigation|jump to navigation"
    "|jump to content|skip to site index|please enter a search term|email address"
    "|zip code|leave this field blank|first name|last name|your email|enter your email",
    # cookie banner buttons
    "accept|accept all|accept cookies|reject|reject all|allow all|manage preferences"
    "|manage cookies|cookie settings|cookies settings|privacy settings",
    # calls to action and link-list headings that introduce a run of other headlines
    "learn more|find out more|read more|see more|show more|load more|view more|view all"
    "|see all|show all|more stories|more news|related|related content|related links"
    "|see also|also read|advertise|advertise with us|donate|donate now|contribute"
    "|support us|i'm in|count me in",
)

# Headings that introduce key points rather than being one: furniture themselves, while
# capture.py turns the lines under them into key points.
KEY_POINT_HEADINGS = _phrases(
    "key points|story highlights|highlights|at a glance|in brief|summary|key takeaways"
    "|what you need to know|in short"
)
_EXACT |= KEY_POINT_HEADINGS
# Lone headings whose following short lines are links to other stories.
LINK_LIST_HEADINGS = _phrases(
    "read more|related|related content|related links|see also|also read|more stories"
    "|more news|more on this|more on this story|read next"
)
_LINK_LIST_TOPIC = re.compile(
    r"^(more|read more|related|latest) (on|about) [\w\s'’-]{1,40}:$", re.I
)


# No heading or button is longer: longer lines are not normalised just to be looked up.
_LONGEST_CONTROL = 300


def is_link_list_heading(text: str) -> bool:
    """True for "Read more" / "More on coronavirus:" headings over a list of other stories."""
    if len(text) > _LONGEST_CONTROL:
        return False
    return normalised(text) in LINK_LIST_HEADINGS or bool(_LINK_LIST_TOPIC.match(text))


# Furniture recognised by shape or phrasing rather than exact text. Each applies to lines
# of up to _SHORT_LIMIT words, so body sentences that merely mention the words survive.
_SHORT_LIMIT = 20
_SHORT_PATTERNS = re.compile(
    "|".join(
        (
            r"\b(story|article|content|text) continues\b",  # "Story continues below advertisement"
            r"\badvertisement$",
            r"^(skip|close) (this )?(ad|advert)",
            r"^share (on|via|to|this|with|article|story|the)\b",  # "Share on Facebook"
            r"^(follow|like) us on\b",
            r"^get more with\b",  # "Get more with myNEWS"
            r"^(sign up|subscribe|register|join)\b.*\b(newsletter|alerts?|updates|inbox|free"
            r"|now|today|here)\b",
            # newsletter promos; a sentence about a newsletter has none of these words
            r"\b(our|free|daily|weekly|morning|evening|unser\w*|kostenlos\w*|gratuit\w*"
            r"|nuestro\w*)\b.*\bnewsletters?\b|\bnewsletters?\b.*\b(inbox|sign up|subscribe"
            r"|free)\b|^(\S+\s+){0,4}\S*newsletters?[!:]?$",
            r"^(download|get|try) (the|our)\b.*\bapp\b",
            r"^(already (a |an )?(subscriber|member|have an account))",
            r"^(become|join as) a (member|subscriber|supporter)",
            r"^(support|fund)\b.*\bjournalism\b",
            r"\b(unlimited|digital) access\b|\b(to|in) your inbox\b|\bbe the first to know\b",
            r"\bdelivered (straight |directly )?to (you|your)\b",
            r"\b(daily|weekly|monthly)\b.*\b(digest|briefing|roundup)\b",
            r"^(sign ?up|sign ?in|log ?in|register)\s*[/|]\s*(sign ?up|sign ?in|log ?in|register)$",
            r"^(never|don't) miss\b|\bnever miss (a|an|our|the)\b|\b(free )?sign up$",
            r"\bwe rely on (your|readers)\b",
            r"\b(funded|supported) by (sponsors|readers|members)\b",
            r"^(make|give) (a|your) (contribution|donation|gift)\b",
            r"^(privacy|cookie)( policy| notice| settings)?$",
            r"^terms of (use|service|sale)\b|^terms (and|&) conditions\b",
            r"^do not sell\b",
            r"^(min|mins|minutes?) read$|^\d+\s*(min|mins|minutes?)\s*(read|listen|watch)$",
            r"^(updated|published|posted)$",
            r"^(video|photo|image|audio)s?\s*\(\d+\)$",
            r"^\(?\d+ (videos?|photos?|images?)\)?$",
            r"^(more|read|see|watch|listen)( more)?\s*(videos|photos)?\s*(\.\.\.|…)$",
            r"^(read|see|more|related|also read|also see|must read|recommended"
            r"|lesen sie (auch|mehr)|mehr zum thema|lire aussi|à lire aussi|voir aussi"
            r"|(te|le) puede interesar|lea también|ver también)"
            r"\s*(more|also|next)?\s*:\s*\S",  # "READ MORE: <another story>"
            r"^(advertis\w+|promoted|sponsored) (by|with|content)\b",
            r"^(click|tap) (here|to)\b",
            # "Skip to content" (often run together with the next link), follow widgets
            r"^(skip|jump) to\b|^(connect|stay connected) with us$|^adjust$",
            r"^\(?(additional )?(reporting|writing|editing|research) by\b",  # wire credits
            r"^this article is (more than|over) .* old$",
            r"^(sign in|log in|subscribe|register) (to|for) (access|continue|read|full|unlimited)"
            r"|^(sign in|log in|subscribe) to access\b",
            r"^((share|tweet|send|pin|email|like|comments?|shares?|fb|facebook|twitter|more|save"
            r"|print|this|text message)\s*[\d,.]*[km]?\s*){2,}$",  # "Share 197 Tweet 123"
            r"\s[-–—]\s*support (us|the \w+|our work)\.?$",  # "… - support the ACLU."
            r"^(gallery|slideshow|photos|in pictures)\s*:",  # a photo gallery widget's title
            r"^[^»›>]+[»›>][^»›>]+[»›>]",  # breadcrumbs: "Home » News » Title"
            r"\b(send|submit|got|have) (us )?an? (news )?tip\b|^(adjust|change) text size$",
            r"^(report|suggest) (a|an) (correction|error|typo)",
            r"^[^.!?]{1,40}\s\*$|^\*\s?\w+$",  # form fields: "Name *", "*Required"
        )
    ),
    re.IGNORECASE,
)

# Phrasings only web chrome uses, whatever the line's length: cookie notices, form small
# print, "sign up here" promos tacked onto a paragraph-length blurb.
_ANY_LENGTH_PATTERNS = re.compile(
    "|".join(
        (
            r"\b(we|this (web)?site|our (web)?site|our partners) (and our partners )?"
            r"(use|uses|are using) cookies\b",
            r"\bby (submitting|signing up|clicking|continuing)\b.*\b(agree|consent|terms"
            r"|privacy)\b",
            r"\b(sign up|subscribe) (here|now|today)\s*[.!]?$",
            r"\bclick here to\b|\bopens in a new (tab|window)\b|\brecaptcha\b",
            r"\bnewsletters? (may contain|promotion)\b",
            r"\bthis material may not be (published|broadcast|rewritten)",
            r"\bin (deinen|ihren) posteingang\b",  # German "… to your inbox" promos
        )
    ),
    re.IGNORECASE,
)

# Counters and stray widget numbers: "7", "12 comments", "1.2k shares", "Comments (4)".
_COUNTER = re.compile(
    r"^(\d[\d,.]*[km]?|\d[\d,.]*[km]?\s+(comments?|shares?|likes?|views?|replies|reactions"
    r"|reads)|(comments?|shares?|replies)\s*\(?\d+\)?)$",
    re.IGNORECASE,
)

# Menu items copied without the breaks between them: "HomeNewsSport", "FeedGet your…".
_RUN_TOGETHER = re.compile(r"[a-z]{2}[A-Z][a-z]")

# Bits of markup, file names and run-together link labels that leak into captures.
_JUNK = re.compile(
    r"^<[a-z!/][^>]*>|<>|^[\w.\-]+\.(jpe?g|png|gif|webp|svg|avif)$|^\W+$"
    r"|^\"[\w-]+\"\s*:|^[\W_]+$|^\[[^\]]*\]$|^\d+\s*/\s*\d+$",  # markup, file names,
    # stray JSON, rules (____), [bracketed link], slide counters (1 / 5)
    re.IGNORECASE,
)

URL_LINE = re.compile(r"^(https?://|www\.)\S+$", re.IGNORECASE)


def is_furniture(text: str) -> bool:
    """True for lines that are page controls, promos, ads, counters or markup leftovers."""
    key = normalised(text)
    if not key or key in _EXACT or _COUNTER.match(text) or _JUNK.search(text):
        return True
    if words(text) <= _SHORT_LIMIT and (
        _SHORT_PATTERNS.search(text) or len(_RUN_TOGETHER.findall(text)) >= 2
    ):
        return True
    return bool(_ANY_LENGTH_PATTERNS.search(text))


# A promo box often reads "Get more with X" / "one line of blurb" / "Learn more": the blurb
# in between is furniture too, though on its own it looks like a sentence.
_PROMO_OPENER = re.compile(
    r"^(get more with|(sign up|subscribe|register)\b|try .* (free|for)|download (the|our)"
    r"|support (us|our)|become a (member|subscriber)|join\b|(unlock|upgrade)\b)",
    re.IGNORECASE,
)
_CALL_TO_ACTION = _phrases(
    "learn more|find out more|sign up|subscribe|subscribe now|sign up now|try it free"
    "|try for free|start free trial|download|download now|get the app|join now|join today"
    "|donate|donate now|support us|get started|find out how|see how|register",
    # the sign-up form a newsletter box ends in
    "email|email address|your email|enter your email|e-mail|submit",
)


def is_promo_opener(text: str) -> bool:
    """True for the first line of a subscription/app/newsletter promo box."""
    return words(text) <= 10 and bool(_PROMO_OPENER.match(text))


def is_call_to_action(text: str) -> bool:
    """True for the button that closes a promo box ("Learn more", "Sign up")."""
    return len(text) <= _LONGEST_CONTROL and normalised(text) in _CALL_TO_ACTION


# --- where the article stops ---------------------------------------------------------------

# Footer lines: once the body has begun, the first of these ends it.
_FOOTER = re.compile(
    r"(^|\s)(©|\(c\)|copyright)\s*(©|copyright)?\s*\d{4}\b|\b(all|some) rights reserved\b",
    re.IGNORECASE,
)
# Headings that close an article: tags, comments, author box, corrections, site index.
_END_HEADING = re.compile(
    "|".join(
        (
            r"^(tags?|tagged|topics?|categories|related topics|schlagwörter|stichwörter"
            r"|mots-clés|etiquetas|explore more on these topics|more on these topics)"
            r"\s*(:.*)?$|^filed under\b",
            # comment sections, also in German, French and Spanish
            r"^(\d+\s+)?(comments?|responses|replies|kommentare?|commentaires?|comentarios?)"
            r"\s*(\(\d+\))?$",
            r"^(join the (conversation|discussion)|leave a (reply|comment)|post a comment"
            r"|add a comment|show comments|view comments|comment on this|reader comments"
            r"|(neuer|neuen) kommentar|kommentar (schreiben|verfassen|hinzufügen)"
            r"|(schreibe|hinterlasse) (einen|eine) (kommentar|antwort)"
            r"|laisser un commentaire|ajouter un commentaire|deja (un comentario|una respuesta)"
            r"|dejar un comentario)\b",
            r"^(about|contact) the authors?$|^(über (den|die) (autor|autorin)|à propos de l'auteur"
            r"|sobre el autor)$",
            r"^(report|suggest) (a|an) (correction|error|typo)",
            r"^site (index|information navigation|map)$|^(our|editorial) standards\b",
        )
    ),
    re.IGNORECASE,
)
# Headings of lists of other stories. They usually follow the article, but some pages put
# a "Most read" box in the middle of it, so they weigh against the body, not end it.
_LINKS_HEADING = re.compile(
    r"^(related|more|other|latest|top|trending|popular|recommended|featured)\s+"
    r"(stories|articles|news|reads|coverage|content|links|videos|headlines|posts)$"
    r"|^(most (read|popular|viewed|shared|watched|commented|recent)|trending( now)?"
    r"|top stories|latest( news)?|popular( now)?|recommended( for you)?"
    r"|more (from|on|in) (this|the|our|these) \w+|more from \w+|more on this story"
    r"|read (this )?next|what to read next|you (may|might) (also )?(like|enjoy)"
    r"|editors'? picks?|around the web|from (our|the) (partners|web)"
    r"|sponsored (stories|links)|in other news|don't miss|live streams?"
    r"|recent posts|related posts|popular posts|recent comments|archives?"
    # German, French and Spanish ones
    r"|mehr zum thema|(das )?könnte sie auch interessieren|lesen sie auch|auch interessant"
    r"|(weitere|ähnliche|verwandte) (artikel|beiträge|themen)|meistgelesen\w*"
    r"|(letzte|neueste) beiträge|(à lire|lire) aussi|articles similaires|sur le même sujet"
    r"|dans la même rubrique|derniers articles|(te|le) puede interesar|lo más leído"
    r"|(noticias|artículos) relacionad[oa]s|más noticias|entradas recientes)$",
    re.IGNORECASE,
)


# Blog software's line under a post ("This entry was posted in X. Bookmark the permalink.").
_POST_META = re.compile(r"^this entry was posted\b|\bbookmark the permalink\b", re.IGNORECASE)


def is_footer(text: str) -> bool:
    """True for a copyright line: whatever follows it is not the article."""
    return words(text) <= 60 and bool(_FOOTER.search(text))


def is_end_marker(text: str) -> bool:
    """True for footer lines and for the headings that close an article."""
    if is_footer(text) or (words(text) <= 30 and _POST_META.search(text)):
        return True
    return words(text) <= 8 and bool(_END_HEADING.search(normalised(text)))


_TAGS_HEADING = re.compile(
    r"^(?:tags?|tagged|topics?|filed under|categories|related topics|schlagwörter|stichwörter"
    r"|mots-clés|etiquetas)\b\s*[:>]?\s*(?P<tags>.*)$",
    re.IGNORECASE,
)


def tags_heading(text: str) -> list[str] | None:
    """The tags given on a "Tags: a, b" / "Filed under X" line (maybe none, when they follow
    on lines of their own), or None when the line is no tags heading."""
    match = _TAGS_HEADING.match(text)
    if not match:
        return None
    return [t.strip() for t in re.split(r"\s*[,;|]\s*", match.group("tags")) if t.strip()]


def is_links_heading(text: str) -> bool:
    """True for "Most read" / "Related stories" style headings over other stories' links."""
    return words(text) <= 8 and bool(_LINKS_HEADING.search(normalised(text)))


# --- embedded video ------------------------------------------------------------------------

_DURATION = re.compile(
    r"^(?:video\s+)?(?:duration\s*:?\s*)?(?:(\d{1,2}):)?(\d{1,2}):(\d{2})(?:\s*(?:min|mins))?$",
    re.IGNORECASE,
)
# "Watch: title", "VIDEO: title", BBC's "Media caption, title".
_VIDEO_TITLE = re.compile(r"^(?:watch|video|media caption|video caption)\s*[:,]\s*(.+)$", re.I)


def duration_seconds(text: str) -> int | None:
    """Seconds for a lone player duration ("03:56", "1:02:03", "Duration 2:04"), else None."""
    match = _DURATION.match(text)
    if not match:
        return None
    hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
    if seconds >= 60 or (hours and minutes >= 60):
        return None
    return hours * 3600 + minutes * 60 + seconds


def video_title(text: str) -> str | None:
    """The title from a "Watch: …" / "Media caption, …" line, else None."""
    match = _VIDEO_TITLE.match(text)
    if match and words(match.group(1)) <= 25:
        return match.group(1).strip()
    return None


# --- photo captions and credits ------------------------------------------------------------

# Picture agencies and wires whose names end captions without a "Photo:" label.
_AGENCY = (
    r"(?:Getty Images|AFP|Reuters|AP Photo|AP Images|AP|Associated Press|EPA-EFE|EPA|EFE"
    r"|Shutterstock|Alamy|Bloomberg(?: News)?|Xinhua|PA Media|PA Wire|PA|Anadolu(?: Agency)?"
    r"|SOPA Images|NurPhoto|Sipa(?: USA)?|ZUMA(?: Press)?|iStock(?:photo)?|Getty|dpa"
    r"|Europa Press|ANSA|Kyodo|Yonhap|TASS|AAP|PTI|Imago|Keystone|Corbis|Rex Features"
    r"|Rex/Shutterstock|WireImage|FilmMagic|Handout)"
)
# "Jane Doe/Getty Images", "VCG/VCG via Getty Images", "Getty Images".
_AGENCY_CREDIT = (
    r"(?:[A-Z][\w.'’&-]*(?:\s+[A-Z][\w.'’&-]*){0,4}\s+via\s+)?"  # "China Daily via Reuters"
    r"(?:[A-Z][\w.'’&-]*(?:\s+[A-Z][\w.'’&-]*){0,4}\s*/\s*){0,3}"  # "Jane Doe/"
    r"(?i:" + _AGENCY + r")(?:/(?:File Photo|File|Pool|Handout))?(?:\s+via\s+[\w .&-]+)?"
)
# Where a caption stops and its credit starts: after a sentence or at a separator.
_CAPTION_THEN = r"^(?:(?P<caption>.*?[.!?”\"'’)\]])\s+|(?P<caption2>.*?)\s*[|–—]\s+|)"
# "… Photo: VCG/Getty", "… Photograph: Jane Doe/Reuters", "… Credit... Jane Doe/AP".
_LABELLED_CREDIT = re.compile(
    _CAPTION_THEN + r"(?i:photo(?:graph)?s?|image|picture|pic|illustration|credit|photo credit"
    r"|photography|foto|image source)\s*(?::|\.\.\.|…|\bby\b|(?<=source),)\s*"
    r"(?P<credit>[A-Z0-9][^:]{1,100}?)\s*$"
)
# "… (Jane Doe/Getty Images)", "… (Reuters)", "… (Photo: Jane Doe)".
_BRACKETED_CREDIT = re.compile(
    r"^(?P<caption>.+?)\s*[(\[](?P<label>(?i:(?:photo|image|picture|credit)s?\s*[:.]\s*))?"
    r"(?P<credit>[^()\[\]]{2,80})[)\]]\s*$"
)
# "… . Jane Doe/Getty Images", "… | Alex Wong/Getty Images".
_TRAILING_CREDIT = re.compile(
    r"^(?P<caption>.+?)(?:\s*[|–—]\s*|\s+-\s+|(?<=[.!?”\"'’])\s+)(?P<credit>"
    + _AGENCY_CREDIT
    + r")$"
)
# A credit alone on its line ("Image source, Getty Images", "Photo: Jane Doe").
_CREDIT_ONLY = re.compile(
    r"^(?:(?i:photo(?:graph)?|image|picture|credit|image source)\s*[:,]\s*(?P<labelled>.{2,60})"
    r"|(?i:(?:photo |image )?(?:courtesy|care) of\s+|(?:photo |image )?courtesy:?\s+)"
    r"(?P<courtesy>[A-Z].{1,60})"
    r"|(?P<credit>" + _AGENCY_CREDIT + r"))$"
)
# MSN-style "© Getty Images MANCHESTER, ENGLAND - …": the credit first, then the caption.
_COPYRIGHT_FIRST = re.compile(
    r"^©\s*(?P<credit>" + _AGENCY_CREDIT + r"|(?i:provided by)\s+.+?)"
    r"(?:\s+(?P<caption>(?i:photo(?:graph)?|image)\s*:.*|[A-Z]{2,}.*))?$"
)
_IMAGE_CAPTION = re.compile(r"^(?i:image caption|caption)\s*[,:]\s*(?P<caption>.+)$")


@dataclass(frozen=True, slots=True)
class Caption:
    """A photo caption line split into what it shows and who took it."""

    caption: str | None
    credit: str | None


def _looks_like_credit(credit: str) -> bool:
    """Slash credits ("Jane Doe/AP", "smolaw11/iStock") or a bare agency name."""
    slashed = re.search(r"\w\s?/\s?\w", credit) and re.search(r"[A-Z]", credit)
    return bool(slashed and words(credit) <= 8) or bool(re.fullmatch(_AGENCY_CREDIT, credit))


# Gallery counters before captions ("[1/2]", "1 of 5") and licensing links after them.
_GALLERY_COUNTER = re.compile(r"^(?:\[\d+/\d+\]|\d+ of \d+)\s+")
_LICENSING = re.compile(
    r"\s+(?i:acquire licensing rights|buy (?:this )?photo|purchase (?:a )?print"
    r"|license this (?:photo|image|content))$"
)


def photo_caption(text: str) -> Caption | None:
    """The caption and credit of a photo caption line, or None when it is not one."""
    text = _LICENSING.sub("", _GALLERY_COUNTER.sub("", text))
    if words(text) > 90:
        return None
    if match := _IMAGE_CAPTION.match(text):
        return Caption(match.group("caption").strip(), None)
    if match := _COPYRIGHT_FIRST.match(text):
        rest = match.group("caption")
        inner = photo_caption(rest) if rest else None  # "… Photograph: Jane Doe/AFP"
        if inner and inner.caption is None:
            return inner
        return Caption(rest, match.group("credit").strip())
    if match := _CREDIT_ONLY.match(re.sub(r"^\((.*)\)$", r"\1", text)):  # "(Image: © X)"
        credit = match.group("labelled") or match.group("courtesy") or match.group("credit")
        if words(credit) <= 8:
            return Caption(None, credit.strip(" ."))
    for pattern in (_LABELLED_CREDIT, _BRACKETED_CREDIT, _TRAILING_CREDIT):
        match = pattern.match(text)
        if not match:
            continue
        credit = match.group("credit").strip(" .")
        groups = match.groupdict()
        labelled = pattern is _LABELLED_CREDIT or groups.get("label")
        if words(credit) > 10 or not (labelled or _looks_like_credit(credit)):
            continue
        caption = (groups.get("caption") or groups.get("caption2") or "").strip(" |–—-,;")
        return Caption(caption or None, credit)
    return None


# --- bylines -------------------------------------------------------------------------------

# One word of a person's or outlet's name: capitalised, all caps, initials, or a digit ("7
# News"); plus the particles names use. Case-sensitive on purpose: "By the end …" is prose.
_NAME_WORD = r"(?:[A-Z0-9][\w'’.\-]*|de|da|van|von|der|den|la|le|du|bin|al|el|ibn|di)"
_NAME = rf"[A-Z][\w'’.\-]*(?:\s+{_NAME_WORD}){{0,4}}"
_NAMES = rf"{_NAME}(?:\s*(?:,|;|&|\band\b|\|)\s*{_NAME_WORD}(?:\s+{_NAME_WORD}){{0,4}}){{0,5}}"
_ROLE = (
    r"(?i:correspondent|editor|reporter|writer|journalist|columnist|contributor|analyst"
    r"|producer|staff|critic|chief|bureau|desk|director|attorney|professor|fellow|author"
    r"|researcher|presenter|host|commentator|economist)"
)
_BY = re.compile(
    rf"^(?i:by|written by|words by|story by|posted by|von|par|por)\s*:?\s+(?P<names>{_NAMES})"
    r"(?:\s+[|–—-]\s+[\w'’&., ]{2,60})?$"  # "… - Chrome Safe Browsing team"
)
# "Jane Doe, Political correspondent", "Jane Doe - BBC News", "Jane Doe | Reuters".
_WITH_ROLE = re.compile(
    rf"^(?:(?:&|and)\s+)?(?P<names>[A-Z][\w'’.\-]*\s+{_NAME_WORD}(?:\s+{_NAME_WORD})?)"
    r"\s*(?:,|\s[|–—-])\s*"
    rf"(?:[\w'’&.]+\s+){{0,5}}?(?:{_ROLE}\w*|[A-Z]{{2,}}(?:\s+News)?|[A-Z]\w+ News)\b.*$"
    # Guardian-style "Jillian Ambrose Energy correspondent": a two-word name, then the job
    rf"|^(?P<name2>[A-Z][\w'’.\-]*\s+[A-Z][\w'’.\-]*)\s+(?:[A-Za-z&'’-]+\s+){{0,3}}{_ROLE}\w*$"
)
# Guardian-style "Jane Doe in Beijing". Title-case headlines can read the same way, so this
# is only a hint the page-level pass confirms by position (just under the headline).
_IN_PLACE = re.compile(
    rf"^(?P<names>[A-Z][\w'’.\-]*\s+{_NAME_WORD}(?:\s+{_NAME_WORD})?(?:\s+and\s+{_NAME})?)"
    r"\s+in\s+[A-Z][\w'’.\-]*(?:\s+[A-Z][\w'’.\-]*){0,2}$"
)
_ROLE_ONLY = re.compile(rf"^(?:[\w'’&.,]+\s+){{0,5}}{_ROLE}\w*(?:\s+[\w'’&.,]+){{0,5}}$")
_PERSON = re.compile(rf"^[A-Z][\w'’.\-]*\s+{_NAME_WORD}(?:\s+{_NAME_WORD}){{0,2}}$")


_EMAIL = re.compile(r"\s*(\S+@\S+\.\w+|@\w+)")  # "By Jane Doe jdoe@paper.com", "@janedoe"


# Byline parts that name the outlet, not a person: "CNN", "7 News WSVN", "BBC News".
_OUTLET_PART = re.compile(r"^(?:[A-Z0-9]{2,}|(?:\S+\s+)*News(?:\s+\S+)*|\d.*)$")


def _tidy_names(names: str) -> str:
    names = re.sub(r"\s+([,;])", r"\1", names).strip(" ,;|")
    parts = re.split(r"\s*[,|]\s*", names)
    while len(parts) > 1 and _OUTLET_PART.match(parts[-1]):
        parts.pop()
    return ", ".join(parts)


def byline(text: str) -> str | None:
    """The author name(s) of a "By Jane Doe" line, else None."""
    if words(text) > 24 or (
        re.search(r"[.!?]$", text) and not re.search(r"\b([A-Z]|Jr|Sr)\.$", text)
    ):
        return None
    match = _BY.match(_EMAIL.sub("", text).strip())
    return _tidy_names(match.group("names")) if match else None


def byline_with_role(text: str) -> str | None:
    """The name of a "Jane Doe, Political correspondent" line; only trust it near a headline."""
    if words(text) > 12:
        return None
    match = _WITH_ROLE.match(text)
    return _tidy_names(match.group("names") or match.group("name2")) if match else None


def byline_in_place(text: str) -> str | None:
    """The name of a "Jane Doe in Beijing" line; only trust it right under a headline."""
    match = _IN_PLACE.match(text)
    return _tidy_names(match.group("names")) if match else None


def names_only(text: str) -> str | None:
    """Two or more people's names and nothing else ("Jane Doe, John Roe"): a byline without
    its "By"; only trust it near a headline."""
    parts = [p for p in re.split(r"\s*,\s*|\s+(?:and|&)\s+", text) if p]
    if len(parts) >= 2 and all(is_person_name(p) for p in parts):
        return _tidy_names(text)
    return None


def is_role_line(text: str) -> bool:
    """True for a job title or desk alone ("Political correspondent", "BBC Scotland News"),
    printed under a name."""
    if words(text) > 8 or text.endswith("."):
        return False
    return bool(_ROLE_ONLY.match(text) or re.fullmatch(r"(?:[A-Z][\w&'’.-]*\s+){0,3}News", text))


# Words Title-Case headlines and menus are made of, but names are not ("How To Grow").
_NOT_IN_NAMES = frozenset(
    (
        *("a", "an", "the", "of", "to", "for", "in", "on", "at", "with", "from", "by"),
        *("is", "are", "was", "how", "why", "what", "when", "who", "your", "our", "my"),
        *("this", "that", "new", "more", "all", "news", "home", "about", "contact"),
    )
)


def is_person_name(text: str) -> bool:
    """True for a line that could be a person's name alone ("Jane Doe")."""
    if not _PERSON.match(text) or re.search(r"\d", text):
        return False
    return not any(word.lower() in _NOT_IN_NAMES for word in text.split())


# --- dates ---------------------------------------------------------------------------------

_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
    # German, French and Spanish months (and their abbreviations) not covered above
    r"|januar|februar|märz|mai|juni|juli|oktober|dezember|janvier|février|mars|avril|juin"
    r"|juillet|août|septembre|octobre|novembre|décembre|enero|febrero|marzo|abril|mayo"
    r"|junio|julio|agosto|septiembre|octubre|noviembre|diciembre)\.?"
)
_DATE_PART = re.compile(
    rf"\b(?:\d{{1,2}}(?:st|nd|rd|th|\.)?\s+(?:de\s+)?{_MONTH},?\s+(?:de\s+)?\d{{4}}"
    rf"|{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?"
    r",?\s+\d{4}|\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{2,4})\b",
    re.IGNORECASE,
)
# Zone abbreviations news sites print after times, with their UTC offsets. Ambiguous ones
# (ET, IST, CST in Asia) are left out: the time is then taken as UTC.
_ZONES = {
    "GMT": "+00:00", "UTC": "+00:00", "Z": "+00:00", "BST": "+01:00", "CET": "+01:00",
    "CEST": "+02:00", "EET": "+02:00", "EEST": "+03:00", "EST": "-05:00", "EDT": "-04:00",
    "CDT": "-05:00", "MST": "-07:00", "MDT": "-06:00", "PST": "-08:00", "PDT": "-07:00",
    "HKT": "+08:00", "SGT": "+08:00", "JST": "+09:00", "KST": "+09:00", "AEST": "+10:00",
    "AEDT": "+11:00",
}  # fmt: skip
_TIME_PART = re.compile(
    r"\b(\d{1,2})[:.](\d{2})(?::\d{2})?\s*([ap]\.?m\.?)?(?=\W|$)"
    r"(?:\s*(" + "|".join(_ZONES) + r")(?![A-Za-z]))?",
    re.IGNORECASE,
)
_RELATIVE = re.compile(
    r"^(?:(?:updated|published|posted)\s*:?\s*)?(?:about\s+)?(?:\d+|an?|one)\s+"
    r"(?:sec(?:ond)?s?|min(?:ute)?s?|h(?:ou)?rs?|days?|weeks?|months?|years?)\s+ago$"
    r"|^(?:(?:updated|published|posted)\s*:?\s*)?(?:just now|yesterday|today)$",
    re.IGNORECASE,
)
# Everything a dateline may hold besides the date: times, weekdays, zones, labels.
_DATE_FILLER = re.compile(
    rf"{_DATE_PART.pattern}|{_TIME_PART.pattern}|\b(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\b"
    r"|\b(?:gmt|utc|bst|cet|cest|est|edt|cst|cdt|pst|pdt|et|pt|hkt|ist|jst|aest)\b|\([^)]*\)"
    r"|\b(?:at|on|updated|published|posted|last|first|modified|date|issued)\b"
    # the same in German, French and Spanish; their weekdays
    r"|\b(?:am|um|le|à|el|de|del|by|von|par|por|veröffentlicht|aktualisiert|publié|publicado|actualizado)\b"
    r"|\b(?:montag|dienstag|mittwoch|donnerstag|freitag|samstag|sonntag|lundi|mardi"
    r"|mercredi|jeudi|vendredi|samedi|dimanche|lunes|martes|miércoles|jueves|viernes"
    r"|sábado|domingo)\b"
    r"|\b\d+\s*min(?:ute)?s?\s+read\b|[\W_]+",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class DateLine:
    """A dateline: ``when`` is None when the page only gave a relative time."""

    when: datetime | None
    relative: bool = False


# Where a "By …" line's name part may end and its date begin.
_NAME_DATE_SPLIT = re.compile(
    r"\s*[,|•·–—-]\s*|\s+(?i:on|at|published|updated|posted)\s+|\s+(?=\d)"
)


def byline_and_date(text: str) -> tuple[str, DateLine] | None:
    """Both halves of "By Jane Doe on Thu, Nov 9, 2023" / "By Jane Doe | 3 hours ago"."""
    if not re.match(r"(?i:(?:written |words |story |posted )?by|von|par|por)\s", text):
        return None
    if words(text) > 24:
        return None
    for split in _NAME_DATE_SPLIT.finditer(text):
        name, date = byline(text[: split.start()]), date_line(text[split.end() :])
        if name and date:
            return name, date
    return None


def date_line(text: str) -> DateLine | None:
    """The date a "Published …"/"19 January 2024"/"3 hours ago" line gives, else None."""
    if words(text) > 14:
        return None
    if _RELATIVE.match(text):
        return DateLine(None, relative=True)
    date = _DATE_PART.search(text)
    if not date:
        return None
    leftover = _DATE_FILLER.sub(" ", text).split()
    # A sentence that mentions a date has lower-case words left; a dateline at most an
    # outlet's or author's name ("CBS News February 24, 2020").
    if len(leftover) > 5 or any(w.islower() and len(w) > 2 for w in leftover):
        return None
    stamp = date.group(0)
    time = _TIME_PART.search(text, date.end()) or _TIME_PART.search(text[: date.start()])
    if time:
        hour, minute, meridiem, zone = time.groups()
        stamp += f" {hour}:{minute}" + (f" {meridiem.replace('.', '')}" if meridiem else "")
        stamp += f" {_ZONES[zone.upper()]}" if zone else ""
    return DateLine(parse_date(stamp) or parse_date(date.group(0)))
