"""`newsvigil run --once` in Kafka mode: ingest and a faust worker in one process, real broker and PostgreSQL."""

import subprocess
import sys

import pytest

from tests.kafka_support import counts, kafka_env
from tests.support import REPO_ROOT

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]


def test_run_once_in_kafka_mode_stores_everything(kafka_servers, postgres_url, httpserver, tmp_path):
    samples = REPO_ROOT / "seeds" / "samples"
    for path in samples.iterdir():
        httpserver.expect_request(f"/{path.name}").respond_with_data(path.read_bytes(), content_type="application/xml")
    feeds = tmp_path / "feeds.txt"
    feeds.write_text("\n".join(httpserver.url_for(f"/{p.name}") for p in samples.iterdir()) + "\n")
    env = kafka_env(kafka_servers, postgres_url, NEWSVIGIL_FEEDS=str(feeds), NEWSVIGIL_ALLOW_PRIVATE_NETWORKS="1")
    result = subprocess.run(
        [sys.executable, "-m", "newsvigil.cli", "run", "--once"],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 feeds, 7 new articles, 5 events" in result.stdout
    assert "[greenland] 1 figure: ~150 soldiers" in result.stdout
    assert counts(postgres_url) == {"articles": 7, "events": 5, "troop_mentions": 7, "dead_letters": 0}
