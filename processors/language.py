"""Language identification when the feed does not say (py3langid, which ships its model)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

_SAMPLE_CHARS = 240  # enough for a reliable guess; the model's cost grows with the sample


@lru_cache(maxsize=8)
def _identifier(languages: tuple[str, ...]) -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=False)
    known = set(identifier.nb_classes)
    wanted = [code for code in languages if code in known]
    if wanted:
        identifier.set_languages(wanted)
    return identifier


def normalise_language(tag: str | None) -> str | None:
    """'fr-FR', 'en_GB', 'DA' -> 'fr', 'en', 'da'; junk -> None."""
    if not tag:
        return None
    code = tag.strip().replace("_", "-").split("-")[0].lower()
    if code in {"nb", "nn"}:
        return "no"
    return code if code.isalpha() and 2 <= len(code) <= 3 else None


def identify_language(text: str, hint: str | None, languages: tuple[str, ...]) -> str | None:
    """The feed's language when it gives one, else the identifier's best guess (None for no text)."""
    declared = normalise_language(hint)
    if declared:
        return declared
    sample = text[:_SAMPLE_CHARS]
    if not any(c.isalpha() for c in sample):
        return None
    return str(_identifier(languages).classify(sample)[0])
