"""No Docker engine runs here, so the compose file is checked statically against the code."""

import re

import yaml
from typer.main import get_command

from newsvigil.cli import app
from newsvigil.settings import Settings
from tests.support import REPO_ROOT


def test_compose_services_use_real_commands_and_settings():
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"kafka", "postgres", "migrate", "ingest", "worker"} <= set(services)
    assert services["kafka"]["image"].startswith("apache/kafka:")
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    cli = get_command(app)
    fields = {f"NEWSVIGIL_{name.upper()}" for name in Settings.model_fields}
    for name in ("migrate", "ingest", "worker"):
        service = services[name]
        assert service["build"] == "."
        command = service["command"]
        group = cli.commands[command[0]]
        if command[0] == "db":
            assert command[1] in group.commands
        for option in (c for c in command[1:] if c.startswith("--")):
            assert option in {o for p in group.params for o in p.opts}, f"{name}: unknown option {option}"
        unknown = {key for key in service["environment"] if key.startswith("NEWSVIGIL_")} - fields
        assert not unknown, f"{name}: unknown settings {unknown}"
        assert service["environment"]["NEWSVIGIL_BROKER"].startswith("kafka://")


def test_dockerfile_installs_the_package_and_runs_the_cli():
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    assert re.search(r"^ENTRYPOINT \[\"newsvigil\"\]", dockerfile, re.M)
    linked = [p.name for p in (REPO_ROOT / "newsvigil").iterdir() if p.is_symlink()]
    assert {"ingest", "processors", "storage", "migrations", "web", "seeds"} <= set(linked)
    for package in ["newsvigil", *linked]:  # the folders newsvigil/ links to are in the image beside it
        assert f"COPY {package} ./{package}" in dockerfile, package
