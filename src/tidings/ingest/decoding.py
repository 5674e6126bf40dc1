"""Bytes to text, the one way every parser does it: BOM, declared charset, UTF-8, a guess."""

from __future__ import annotations

import codecs

import charset_normalizer

# Longest first: the UTF-32LE BOM begins with the UTF-16LE one.
BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Browsers read these labels as windows-1252 (WHATWG Encoding), and so do pages written for them.
_BROWSER_ALIASES = {"iso8859-1": "cp1252", "latin-1": "cp1252", "ascii": "cp1252"}


def bom_encoding(data: bytes) -> str | None:
    """The encoding a byte-order mark at the start of ``data`` announces, if any."""
    for bom, encoding in BOMS:
        if data.startswith(bom):
            return encoding
    return None


def wide_encoding(head: bytes) -> str | None:
    """UTF-16/32 (either byte order, BOM or not) told from where the NUL bytes fall.

    Mostly-ASCII markup in UTF-32BE has NULs at offsets 0-2 of every 4 bytes, UTF-16LE at
    every odd offset, and so on (the XML spec's autodetection, without needing a ``<``).
    """
    encoding = bom_encoding(head)
    if encoding and encoding != "utf-8-sig":
        return encoding
    sample = head[:256]
    if len(sample) < 8 or sample.count(0) < len(sample) // 3:
        return None
    zero = [sum(1 for i in range(r, len(sample), 4) if sample[i] == 0) for r in range(4)]
    most = len(sample) // 4 * 0.9
    if zero[0] >= most and zero[1] >= most and zero[2] >= most:
        return "utf-32-be"
    if zero[1] >= most and zero[2] >= most and zero[3] >= most:
        return "utf-32-le"
    if zero[0] >= most and zero[2] >= most:
        return "utf-16-be"
    if zero[1] >= most and zero[3] >= most:
        return "utf-16-le"
    return None


def codec(label: str) -> str | None:
    """Python's name for a charset label, with browsers' latin-1 → windows-1252 rule."""
    try:
        name = codecs.lookup(label.strip().strip("\"'")).name
    except LookupError:
        return None
    return _BROWSER_ALIASES.get(name, name)


def decode(data: bytes, declared: list[str] | tuple[str, ...] = ()) -> tuple[str, str | None]:
    """The text of ``data`` and, when it had to be guessed, the encoding guessed.

    Order: a BOM; each declared charset (strict, so bytes that contradict their declaration
    fall through); UTF-8; charset_normalizer's best guess. Raises ``UnicodeDecodeError`` only
    when a BOM promises an encoding the bytes break, and ``ValueError`` when nothing fits.
    """
    encoding = bom_encoding(data)
    if encoding:
        return data.decode(encoding), None
    for label in declared:
        name = codec(label)
        if name is None:
            continue
        try:
            return data.decode(name), None
        except UnicodeDecodeError:
            continue
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError:
        pass
    best = charset_normalizer.from_bytes(data).best()
    if best is None:
        raise ValueError("no text encoding fits these bytes")
    return str(best), best.encoding
