"""The built distribution: one import name, with the data the product reads at run time."""

import shutil
import subprocess
import sys
import zipfile

import pytest

from tests.support import REPO_ROOT


@pytest.mark.slow
def test_the_wheel_installs_one_top_level_name_with_its_data(tmp_path):
    # Building from a copy: setuptools writes build/ and *.egg-info beside the sources it builds.
    tracked = (
        subprocess.run(["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True, check=True)
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, tracked):
        source, target = REPO_ROOT / name, tmp_path / "src" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            target.symlink_to(source.readlink())
        elif source.is_file():
            shutil.copy2(source, target)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path),
            str(tmp_path / "src"),
        ],
        check=True,
    )
    (wheel,) = tmp_path.glob("newsvigil-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/")[0] for name in names}
    assert {t for t in top if not t.endswith(".dist-info")} == {"newsvigil"}
    for expected in [
        "newsvigil/py.typed",
        "newsvigil/ingest/fetch.py",
        "newsvigil/processors/troops.py",
        "newsvigil/storage/models.py",
        "newsvigil/runtime/worker.py",
        "newsvigil/migrations/script.py.mako",
        "newsvigil/migrations/versions/0001_initial_schema.py",
        "newsvigil/web/templates/article.html",
        "newsvigil/seeds/topics.yaml",
        "newsvigil/seeds/places.yaml",
        "newsvigil/seeds/feeds.opml",
    ]:
        assert expected in names, expected
