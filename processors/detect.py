"""Detection of one article: language, topics and troop mentions, as one pure function."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

from newsvigil.defaults import DEFAULT_LANGUAGES
from newsvigil.processors.language import identify_language, identify_languages
from newsvigil.processors.lexicon import fold, mask_urls
from newsvigil.processors.rules import RuleSet, load_rules
from newsvigil.processors.stories import signature
from newsvigil.processors.topics import find_topics
from newsvigil.processors.troops import Verdict, scan_troops
from newsvigil.records import Article, Detection, TroopMention, VagueMention

# An article with its detection, or with the reason its detection failed.
Detected = tuple[Article, "Detection | str"]


class TextDetection(NamedTuple):
    """What the rules found in one text; offsets index into the text."""

    lang: str | None
    topics: list[str]
    troops: list[TroopMention]
    vague: list[VagueMention]
    verdicts: list[Verdict]  # every troop candidate with the reason it was kept or dropped (--explain)


def detect_text(
    text: str, rules: RuleSet, lang: str | None = None, languages: tuple[str, ...] = DEFAULT_LANGUAGES
) -> TextDetection:
    """Language, topics, troop figures and vague quantities of a text."""
    return detect_text_in(text, rules, identify_language(text, lang, languages))


def detect_text_in(text: str, rules: RuleSet, lang: str | None) -> TextDetection:
    """`detect_text` of a text whose language is decided (`lang`, None when unknown)."""
    folded = fold(text)
    masked = mask_urls(folded)
    term_hits, near_hits, unit_hits = rules.whole_text.scan(text, masked)
    topics = find_topics(text, masked, lang, rules, (term_hits, near_hits))
    scan = scan_troops(text, masked, lang, rules.troops, unit_hits)
    return TextDetection(lang, topics, scan.troops, scan.vague, scan.verdicts)


def detect(article: Article, rules: RuleSet, languages: tuple[str, ...] = DEFAULT_LANGUAGES) -> Detection:
    """Run every rule over an article's title and summary."""
    return detect_in(article, rules, identify_language(article.text, article.language, languages))


def article_languages(articles: Sequence[Article], languages: tuple[str, ...] = DEFAULT_LANGUAGES) -> list[str | None]:
    """The language `detect` would find for each article, identified in one batch."""
    return identify_languages([(a.text, a.language) for a in articles], languages)


def detect_in(article: Article, rules: RuleSet, lang: str | None) -> Detection:
    """`detect` of an article whose language is decided (see `article_languages`)."""
    found = detect_text_in(article.text, rules, lang)
    return Detection(
        article_id=article.id,
        lang=found.lang,
        topics=found.topics,
        troops=found.troops,
        rules_version=rules.version,
        vague=found.vague,
    )


def detect_articles(
    articles: Sequence[Article],
    rules: RuleSet,
    languages: tuple[str, ...] = DEFAULT_LANGUAGES,
    signatures: bool = True,
) -> list[Detected]:
    """Detect each article (with the text signature of those on a topic, unless `signatures` is
    false: story assignment then computes it); one whose detection raises carries the reason
    instead (never dropped)."""
    try:
        langs = article_languages(articles, languages)
    except Exception:  # one text that breaks the batch identifier: each article is identified alone below
        langs = None
    out: list[Detected] = []
    for i, article in enumerate(articles):
        try:
            detection = detect(article, rules, languages) if langs is None else detect_in(article, rules, langs[i])
            if (
                signatures and detection.topics
            ):  # a report for story clustering: its signature is computed here, not when storing
                detection.text_signature = signature(article.text).tobytes()
            out.append((article, detection))
        except Exception as exc:  # a detection bug must not block the other articles
            out.append((article, f"detection failed: {exc.__class__.__name__}: {exc}"))
    return out


def article_detector(topics_path: str, languages: tuple[str, ...]) -> Callable[[list[Article]], list[Detected]]:
    """`detect_articles` with rules loaded from `topics_path` (built once in each replay process)."""
    rules = load_rules(topics_path)
    return lambda articles: detect_articles(articles, rules, languages)


def wants_full_text(rules: RuleSet, languages: tuple[str, ...] = DEFAULT_LANGUAGES) -> Callable[[Article], bool] | None:
    """Whether an item's page is worth fetching: its title and summary match a topic that asks for
    full text (None when no topic does)."""
    topics = rules.full_text_topics
    if not topics:
        return None
    return lambda article: bool(topics.intersection(detect(article, rules, languages).topics))
