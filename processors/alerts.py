"""Alert decisions and their text. Subscriptions arrive with step 4; for now one line per event."""

from __future__ import annotations

from newsvigil.records import Event


def alert_line(event: Event) -> str:
    """'[nato,greenland] 2 figures: ~1,200 militaires, 350 personnel — <title> <link>'."""
    detection = event.detection
    parts = [f"[{','.join(detection.topics)}]"]
    if detection.troops:
        figures = ", ".join(m.label() for m in detection.troops)
        count = len(detection.troops)
        parts.append(f"{count} figure{'s' if count > 1 else ''}: {figures}")
    parts.append(f"— {event.article.title}")
    if event.article.link:
        parts.append(event.article.link)
    return " ".join(parts)
