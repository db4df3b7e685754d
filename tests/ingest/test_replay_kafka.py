"""Replay in Kafka mode publishes to <prefix>.articles for the workers; reprocess rewinds the workers."""

import json

import pytest

from tests.ingest.test_replay import SAMPLES, write_changed_rules
from tests.kafka_support import counts, kafka_env, start_worker, stop, wait_until
from tests.support import newsvigil

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]


def events(env, topic):
    listed = newsvigil("events", "--topic", topic, "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    return [json.loads(line) for line in listed.stdout.splitlines()]


def test_replay_to_kafka_then_reprocess_with_new_rules(tmp_path, kafka_servers, postgres_url):
    env = kafka_env(kafka_servers, postgres_url)
    assert newsvigil("db", "upgrade", env=env).returncode == 0
    added = newsvigil("subscribe", "add", "--name", "all", "--channel", "atom", env=env)
    assert added.returncode == 0, added.stderr

    replayed = newsvigil("replay", str(SAMPLES), env=env)
    assert replayed.returncode == 0, replayed.stderr
    assert f"7 items published to {env['NEWSVIGIL_KAFKA_TOPIC_PREFIX']}.articles (alerts: none)" in replayed.stdout

    worker = start_worker(env, tmp_path / "worker.log")
    try:
        wait_until(lambda: counts(postgres_url)["articles"] == 7, 90, "the worker to store the replayed articles")
        wait_until(lambda: counts(postgres_url)["events"] == 5, 30, "the events")
        busy = newsvigil("reprocess", "--since", "2000-01-01", env=env)
        assert busy.returncode == 2 and "running worker" in busy.stderr  # refused while workers consume
    finally:
        assert stop(worker) == 0
    listed = newsvigil("alerts", "--json", env=env)
    assert listed.returncode == 0 and listed.stdout.strip() == ""  # history did not notify
    assert events(env, "markets") == []

    changed = dict(env, NEWSVIGIL_TOPICS=write_changed_rules(tmp_path))
    rewound = newsvigil("reprocess", "--since", "2000-01-01", env=changed)
    assert rewound.returncode == 0, rewound.stderr
    assert "partition 0 -> offset 0" in rewound.stdout
    worker = start_worker(changed, tmp_path / "worker2.log")
    try:
        wait_until(lambda: len(events(changed, "markets")) == 1, 90, "the workers to re-detect with the new rules")
    finally:
        assert stop(worker) == 0
    assert counts(postgres_url)["articles"] == 7  # re-run, not duplicated
    assert events(changed, "markets")[0]["rules_version"].startswith("test-")


@pytest.mark.parametrize(
    "headers, policy",
    [
        ([("newsvigil-alerts", b"none")], "none"),
        ({"newsvigil-alerts": b"all"}, "all"),
        ([("other", b"x")], "new"),  # live articles carry no policy: new events alert
        (None, "new"),
        ([("newsvigil-alerts", b"bogus")], "new"),
    ],
)
def test_alert_policy_header(headers, policy):
    from newsvigil.runtime.worker import alert_policy

    assert alert_policy(headers) == policy
