"""What new rules would change in stored detections: a pure comparison for `replay --dry-run --diff`."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class DetectionDiff:
    article_id: str
    title: str
    added_topics: list[str] = field(default_factory=list)
    removed_topics: list[str] = field(default_factory=list)
    added_figures: list[str] = field(default_factory=list)
    removed_figures: list[str] = field(default_factory=list)
    story: str | None = None  # what happens to the article's story membership

    @property
    def empty(self) -> bool:
        return not (self.added_topics or self.removed_topics or self.added_figures or self.removed_figures)

    def lines(self) -> list[str]:
        out = [f"{self.article_id[:12]} {self.title[:80]}"]
        out += [f"  + topic {t}" for t in self.added_topics] + [f"  - topic {t}" for t in self.removed_topics]
        out += [f"  + figure {f}" for f in self.added_figures] + [f"  - figure {f}" for f in self.removed_figures]
        return out + ([f"  {self.story}"] if self.story else [])


def diff_detection(
    article_id: str,
    title: str,
    old_topics: set[str],
    new_topics: set[str],
    old_figures: set[str],
    new_figures: set[str],
) -> DetectionDiff:
    """Topics and figures (as labels like '~1,200 troops') that new rules add or remove for one article,
    and whether it becomes a report of a story (which one is only known when it is stored)."""
    story = None
    if new_topics and not old_topics:
        story = "+ story: becomes a report (opens a story or joins one)"
    elif old_topics and not new_topics:
        story = "- story: leaves its story (a story left with no report goes)"
    return DetectionDiff(
        article_id,
        title,
        sorted(new_topics - old_topics),
        sorted(old_topics - new_topics),
        sorted(new_figures - old_figures),
        sorted(old_figures - new_figures),
        story,
    )
