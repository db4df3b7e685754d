"""Helpers shared by the tests: where the checkout is, and how to run the command line."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLES = REPO_ROOT / "seeds" / "samples"
TOPICS = REPO_ROOT / "seeds" / "topics.yaml"
