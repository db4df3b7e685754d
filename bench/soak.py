"""Soak: `newsvigil run` (embedded mode) for N minutes over a changing local feed farm.

The feed server of bench/poll.py (aiohttp, in its own process, on loopback addresses; half the
feeds gain 2 items each time they are asked) feeds a real `newsvigil run` subprocess polling every
few seconds into a fresh SQLite file. Every 5 s the run's RSS and open descriptors are sampled (from
/proc); cycle times come from its status lines. Prints the samples' first (after the first cycle), last and highest values,
the cycle times, the articles stored and whether the run ended cleanly on SIGTERM.
Usage: python bench/soak.py [--minutes 5] [--feeds 200] [--interval 5]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from poll import start_feed_server  # noqa: E402

CYCLE = re.compile(r"^cycle (\d+): (\d+) feeds, (\d+) new articles.*\(([\d.]+) s\)")


def sample(pid: int) -> tuple[float, int]:
    """(RSS in MB, open descriptors) of a process."""
    status = Path(f"/proc/{pid}/status").read_text()
    rss = int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024
    return rss, len(list(Path(f"/proc/{pid}/fd").iterdir()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--hosts", type=int, default=20)
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between polls of a feed")
    parser.add_argument("--port", type=int, default=18481)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server, _ = start_feed_server(Path(tmp), args.port, args.hosts)
        feeds = Path(tmp) / "feeds.txt"
        feeds.write_text(
            "".join(f"http://127.0.0.{1 + i % args.hosts}:{args.port}/feed/{i}.xml\n" for i in range(args.feeds))
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSVIGIL_")} | {
            "NEWSVIGIL_DATABASE_URL": f"sqlite:///{tmp}/soak.db",
            "NEWSVIGIL_FEEDS": str(feeds),
            "NEWSVIGIL_ALLOW_PRIVATE_NETWORKS": "1",
            "NEWSVIGIL_POLL_INTERVAL": str(args.interval),
            "NEWSVIGIL_POLL_MIN_INTERVAL": str(args.interval),
            "NEWSVIGIL_FETCH_PER_HOST": "4",
        }
        run = subprocess.Popen(
            [sys.executable, "-m", "newsvigil.cli", "run"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        cycles: list[float] = []
        new = [0]

        def read() -> None:
            assert run.stdout is not None
            for line in run.stdout:
                m = CYCLE.match(line)
                if m:
                    cycles.append(float(m.group(4)))
                    new[0] += int(m.group(3))

        threading.Thread(target=read, daemon=True).start()
        samples = []
        try:
            while not cycles and run.poll() is None:  # warm-up (imports, migrations, the first cycle) is not sampled
                time.sleep(0.5)
            deadline = time.monotonic() + args.minutes * 60
            while time.monotonic() < deadline and run.poll() is None:
                samples.append(sample(run.pid))
                time.sleep(5)
            run.send_signal(signal.SIGTERM)
            code = run.wait(timeout=120)
        finally:
            if run.poll() is None:
                run.kill()
            server.terminate()
            server.wait()
        stats = subprocess.run(
            [sys.executable, "-m", "newsvigil.cli", "stats", "--json"],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout
        rss, fds = [s[0] for s in samples], [s[1] for s in samples]
        print(
            f"soak {args.minutes:g} min, {args.feeds} feeds every {args.interval:g} s: {len(cycles)} cycles, "
            f"{new[0]:,} new articles, stored {json.loads(stats)['articles']:,}; SIGTERM exit {code}"
        )
        print(
            f"RSS MB first/last/max: {rss[0]:.0f}/{rss[-1]:.0f}/{max(rss):.0f}; "
            f"descriptors first/last/max: {fds[0]}/{fds[-1]}/{max(fds)}"
        )
        if cycles:
            print(
                f"cycle seconds p50 {statistics.median(cycles):.2f}, p95 {sorted(cycles)[int(0.95 * (len(cycles) - 1))]:.2f}, "
                f"max {max(cycles):.2f}"
            )


if __name__ == "__main__":
    main()
