"""The fast path of feed parsing: well-formed UTF-8 RSS 2.0 and Atom 1.0 whose items hold only elements
it knows, read with lxml into the values feedparser would give. Anything else is declined (None), and
feedparser, the reference, reads the document: tests/ingest/test_parse_differential.py holds the two
to the same Articles on every feed fixture, sample and real feed the repository can reach.
"""

from __future__ import annotations

import contextlib
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone

from feedparser.api import StrictFeedParser
from feedparser.html import _cp1252
from lxml import etree

ATOM = "{http://www.w3.org/2005/Atom}"
CONTENT_ENCODED = "{http://purl.org/rss/1.0/modules/content/}encoded"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"

# Elements feedparser has a handler for, checked by the differential test to leave title, summary,
# content, link, id and dates alone. An element with no handler at all is only stored under its own
# name by feedparser; any other handled element sends the document to feedparser.
HARMLESS = frozenset(
    {
        "author",
        "category",
        "comments",
        "enclosure",
        "contributor",
        "rights",
        "name",
        "email",
        "uri",
        "dc_creator",
        "dc_subject",
        "media_thumbnail",
        "media_content",
    }
)
# Names feedparser would read as the feed's title, language, ttl or entries wherever they appear.
_FEED_FIELDS = frozenset(
    {"title", "item", "entry", "language", "ttl", "channel", "feed", "rss", "dc_title", "dc_language", "media_title"}
)
_NAMESPACES = {uri.lower(): prefix for uri, prefix in StrictFeedParser.namespaces.items()}
_PREFIXES = frozenset(_NAMESPACES.values())
_TEXT_ATTRIBUTES = {"type", XML_LANG, "lang"}
_TEXT_TYPES = {None: "text/plain", "text": "text/plain", "html": "text/html", "text/plain": "text/plain"}
_HTML_TYPES = {"text/html", "application/xhtml+xml", "html", "xhtml"}
_DECLARED_ENCODING = re.compile(rb"""^<\?xml[^>]*?\bencoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_FEED_MEDIA_TYPES = {"application/rss+xml", "application/atom+xml", "application/xml"}
# feedparser's own clean-up of a link or permalink id (its _urljoin with no base): extra slashes after "scheme://"
_URI_FIXER = re.compile("^([A-Za-z][A-Za-z0-9+-.]*://)(/*)(.*?)")
_C1_CONTROLS = re.compile("[\x80-\x9f]")
_ENTITY_IN_LINK = re.compile("&([A-Za-z0-9_]+);")
_MONTHS = {
    m: i for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)
}
_RFC822 = re.compile(
    r"(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?(\d{1,2}) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (\d{4}) "
    r"(\d\d):(\d\d):(\d\d) (GMT|UT|UTC|Z|[+-]\d{4})"
)
_ISO = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.\d{1,9})?(Z|[+-]\d\d:\d\d)")

# One parser per thread: the poller parses in worker threads, and an lxml parser must not be shared.
_PARSERS = threading.local()


def _parser() -> etree.XMLParser:
    parser = getattr(_PARSERS, "parser", None)
    if parser is None:
        parser = _PARSERS.parser = etree.XMLParser(
            resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, recover=False
        )
    return parser


class Decline(Exception):
    """The fast path does not read this document the way feedparser would: feedparser reads it."""


@dataclass(slots=True)
class FastEntry:
    """One item's values, as feedparser would give them (before our own plain-text step)."""

    title: str | None  # None: the item has no title element (feedparser then has no title language either)
    title_language: str | None
    summary: str
    contents: list[str]
    link: str | None
    guid: str | None
    published: datetime | None
    updated: datetime | None


@dataclass(slots=True)
class FastFeed:
    title: str | None = None
    language: str | None = None
    ttl: str | None = None
    self_link: str | None = None
    entries: list[FastEntry] = field(default_factory=list)


def parse_fast(content: bytes, content_type: str | None = None) -> FastFeed | None:
    """The document's entries read by the fast path, or None when it declines the document."""
    if not _plain_utf8(content, content_type):
        return None
    try:
        root = etree.fromstring(content, _parser())
    except (etree.XMLSyntaxError, ValueError):
        return None
    try:
        if root.tag == "rss":
            return _rss(root)
        if root.tag == f"{ATOM}feed":
            return _atom(root)
    except Decline:
        return None
    return None


def decline_reason(content: bytes, content_type: str | None = None) -> str | None:
    """Why the fast path declines a document (None: it reads it), for the benchmark's breakdown."""
    if not _plain_utf8(content, content_type):
        return "encoding, media type or DOCTYPE"
    try:
        root = etree.fromstring(content, _parser())
    except (etree.XMLSyntaxError, ValueError):
        return "not well-formed XML"
    try:
        if root.tag == "rss":
            _rss(root)
        elif root.tag == f"{ATOM}feed":
            _atom(root)
        else:
            return f"root element {root.tag}"
    except Decline as exc:
        return str(exc) or f"an element read differently (fastparse.py line {_last_line(exc)})"
    return None


def _last_line(exc: BaseException) -> int:
    trace = exc.__traceback__
    while trace and trace.tb_next:
        trace = trace.tb_next
    return trace.tb_lineno if trace else 0


def _plain_utf8(content: bytes, content_type: str | None) -> bool:
    """UTF-8 by every account (HTTP, BOM, XML declaration), no DOCTYPE, served as a feed or XML: the
    documents where feedparser's encoding detection has nothing to decide."""
    if content_type:
        media, _, params = content_type.partition(";")
        media = media.strip().lower()
        charset = params.lower().replace(" ", "").partition("charset=")[2].strip("\"'")
        # text/xml without a charset is US-ASCII to feedparser (RFC 3023), whatever the document says
        if charset not in ("", "utf-8") or (
            media not in _FEED_MEDIA_TYPES and (media, charset) != ("text/xml", "utf-8")
        ):
            return False
    if content.startswith(b"\xef\xbb\xbf"):
        content = content[3:]
    if not content.startswith(b"<"):
        return False
    head = content[:1024]
    declared = _DECLARED_ENCODING.match(head)
    if declared and declared.group(1).lower() != b"utf-8":
        return False
    return b"<!doctype" not in content[:4096].lower() and b"<!DOCTYPE" not in content


def _as_feedparser(text: str) -> str:
    """The two corrections feedparser applies to every text of a UTF-8 document: UTF-8 bytes read as
    Latin-1 are read again, and C1 controls become the Windows-1252 characters they usually meant."""
    if text.isascii():
        return text  # neither correction changes ASCII
    with contextlib.suppress(UnicodeError):
        text = text.encode("iso-8859-1").decode("utf-8")
    return text.translate(_cp1252) if _C1_CONTROLS.search(text) else text


def _text(element) -> str:
    """An element's text, stripped; an element with child nodes (markup, comments) is declined."""
    if len(element):
        raise Decline("markup or a comment inside a text element")
    return _as_feedparser((element.text or "").strip())


def _lang(element, inherited: str | None) -> str | None:
    lang = element.get(XML_LANG, element.get("lang"))
    if lang is None:
        return inherited
    return lang or None


def _attributes(element) -> set[str]:
    """Attributes other than a language: an RSS element's `type` or `mode` changes how feedparser reads it."""
    return set(element.attrib) - {XML_LANG, "lang"}


def _no_base(element) -> None:
    if element.get(XML_BASE) is not None or element.get("base") is not None:
        raise Decline("xml:base")


def _uri(value: str) -> str:
    return _URI_FIXER.sub(r"\1\3", value) if ":///" in value else value


def _rss(root) -> FastFeed:
    _no_base(root)
    channels = root.findall("channel")
    if len(channels) != 1 or root.find("item") is not None:
        raise Decline("not one channel holding the items")
    channel = channels[0]
    _no_base(channel)
    lang = _lang(channel, _lang(root, None))
    feed = FastFeed(language=(root_lang := _lang(root, None)) and root_lang.replace("_", "-"))
    for child in channel:
        tag = child.tag
        if tag == "item":
            feed.entries.append(_rss_item(child, lang))
        elif tag == "title":
            if feed.title is not None:
                raise Decline
            feed.title = _text(child)
        elif tag == "language":
            feed.language = _text(child)
        elif tag == "ttl":
            feed.ttl = _text(child)
        else:
            _feed_child(child, feed)
    return feed


def feedparser_name(element) -> str:
    """The name feedparser's handlers know an element by: its namespace's usual prefix (or the
    document's own for a namespace it does not know) and its local name, both lower-cased."""
    tag = element.tag
    uri, _, local = tag[1:].rpartition("}") if tag.startswith("{") else ("", "", tag)
    uri = uri.lower()
    if "backend.userland.com/rss" in uri:
        uri = "http://backend.userland.com/rss"
    if uri in _NAMESPACES:
        prefix = _NAMESPACES[uri]
    else:
        prefix = element.prefix or ""
        if prefix and prefix.lower() in _PREFIXES:
            raise Decline(f"prefix {prefix} of a namespace feedparser does not know")
    return f"{prefix.lower()}_{local.lower()}" if prefix else local.lower()


def _handled(name: str) -> bool:
    return hasattr(StrictFeedParser, f"_start_{name}") or hasattr(StrictFeedParser, f"_end_{name}")


def _harmless(element) -> None:
    """An element (with all it holds) that cannot change what is read here, or Decline."""
    if not isinstance(element.tag, str):
        raise Decline("comment or processing instruction")  # feedparser may keep its text
    name = feedparser_name(element)
    if _handled(name) and name not in HARMLESS:
        raise Decline(f"element {name}")
    for child in element:
        _harmless(child)


def _feed_child(child, feed: FastFeed) -> None:
    """A feed-level element other than the title, language, ttl and entries: its rel=self link is
    kept (the first, as feedparser's reader in parse.py takes it); it must not be another title."""
    if not isinstance(child.tag, str):
        raise Decline("comment or processing instruction in the feed")
    name = feedparser_name(child)
    if name in _FEED_FIELDS:
        raise Decline(f"feed element {name}")
    if name == "link":
        _no_base(child)
        if set(child.attrib) & {"url", "uri"}:
            raise Decline("link without href")
        if child.get("rel") == "self" and child.get("href") and feed.self_link is None:
            feed.self_link = _uri(child.get("href"))


def _rss_item(item, lang: str | None) -> FastEntry:
    _no_base(item)
    lang = _lang(item, lang)
    title = title_lang = link = guid = None
    summary: str | None = None
    contents: list[str] = []
    guid_is_link = False
    published = None
    for child in item:
        tag = child.tag
        if tag == "title":
            if title is not None or _attributes(child):
                raise Decline
            title, title_lang = _text(child), _lang(child, lang)
        elif tag == "description":
            if summary is not None or _attributes(child):
                raise Decline
            summary = _text(child)
        elif tag == CONTENT_ENCODED:
            if _attributes(child):
                raise Decline
            contents.append(_text(child))
        elif tag == "link":
            if link is not None or _attributes(child):
                raise Decline
            link = _rss_link(_text(child))
        elif tag == "guid":
            if guid is not None or set(child.attrib) - {"isPermaLink"}:
                raise Decline
            guid_is_link = child.get("isPermaLink", "true") == "true"
            guid = _text(child)
            if guid_is_link:
                guid = _uri(guid)
        elif tag == "pubDate":
            if published is not None:
                raise Decline
            published = _date(_text(child))
        else:
            _harmless(child)
    if link is None and guid_is_link:
        link = guid
    return FastEntry(
        title=title,
        title_language=title_lang.replace("_", "-") if title_lang else None,
        summary=summary or "",
        contents=contents,
        link=link,
        guid=guid,
        published=published,
        updated=None,
    )


def _rss_link(value: str) -> str:
    """feedparser's repair of an RSS link: `&amp;` and `&name;` left in a URL become `&` and `&name`."""
    value = _uri(value)
    if "&" not in value:
        return value
    return _ENTITY_IN_LINK.sub(r"&\g<1>", value.replace("&amp;", "&"))


def _atom(root) -> FastFeed:
    _no_base(root)
    lang = _lang(root, None)
    feed = FastFeed(language=lang.replace("_", "-") if lang else None)
    for child in root:
        tag = child.tag
        if tag == f"{ATOM}entry":
            feed.entries.append(_atom_entry(child, lang))
        elif tag == f"{ATOM}title":
            if feed.title is not None or child.get("type") not in (None, "text", "html"):
                raise Decline
            feed.title = _text(child)
        else:
            _feed_child(child, feed)
    return feed


def _atom_text(element) -> str:
    if (
        element.get("type") not in _TEXT_TYPES
        or element.get("src") is not None
        or set(element.attrib) - _TEXT_ATTRIBUTES
    ):
        raise Decline(f"Atom text of type {element.get('type')!r}, src or other attributes")
    return _text(element)


def _atom_entry(entry, lang: str | None) -> FastEntry:
    _no_base(entry)
    lang = _lang(entry, lang)
    title = title_lang = link = guid = None
    summary: str | None = None
    contents: list[str] = []
    published = updated = None
    for child in entry:
        tag = child.tag
        if tag == f"{ATOM}title":
            if title is not None:
                raise Decline
            title, title_lang = _atom_text(child), _lang(child, lang)
        elif tag == f"{ATOM}summary":
            if summary is not None:
                raise Decline
            summary = _atom_text(child)
        elif tag == f"{ATOM}content":
            contents.append(_atom_text(child))
        elif tag == f"{ATOM}link":
            if len(child) or set(child.attrib) - {"rel", "href", "type", "hreflang", "title", "length"}:
                raise Decline
            if "href" not in child.attrib:
                raise Decline
            rel = child.get("rel", "alternate")
            if rel == "alternate" and child.get("type", "text/html") in _HTML_TYPES:
                link = _uri(child.get("href"))
        elif tag == f"{ATOM}id":
            if guid is not None or _attributes(child):
                raise Decline
            guid = _uri(_text(child))
        elif tag == f"{ATOM}published":
            if published is not None:
                raise Decline
            published = _date(_text(child))
        elif tag == f"{ATOM}updated":
            if updated is not None:
                raise Decline
            updated = _date(_text(child))
        else:
            _harmless(child)
    return FastEntry(
        title=title,
        title_language=title_lang.replace("_", "-") if title_lang else None,
        summary=summary or "",
        contents=contents,
        link=link if link is not None else guid,  # feedparser: an Atom id is a permalink unless said otherwise
        guid=guid,
        published=published,
        updated=updated,
    )


def _date(value: str) -> datetime:
    """RFC 822 and W3C dates in their common, complete forms; anything else is left to feedparser."""
    if found := _RFC822.fullmatch(value):
        day, month, year, hour, minute, second, zone = found.groups()
        offset = 0 if zone in ("GMT", "UT", "UTC", "Z") else _offset(zone[0], zone[1:3], zone[3:5])
        parts = (int(year), _MONTHS[month], int(day), int(hour), int(minute), int(second))
    elif found := _ISO.fullmatch(value):
        year, month, day, hour, minute, second, zone = found.groups()
        offset = 0 if zone == "Z" else _offset(zone[0], zone[1:3], zone[4:6])
        parts = (int(year), int(month), int(day), int(hour), int(minute), int(second))
    else:
        raise Decline("a date in a form left to feedparser")
    try:
        return datetime(*parts, tzinfo=timezone(timedelta(minutes=offset))).astimezone(UTC)
    except (ValueError, OverflowError):
        raise Decline("an impossible date") from None


def _offset(sign: str, hours: str, minutes: str) -> int:
    return (1 if sign == "+" else -1) * (int(hours) * 60 + int(minutes))
