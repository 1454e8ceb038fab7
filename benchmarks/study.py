"""Wall and CPU time of the default study (``neurosafe run``): the first run, and a fully cached re-run.

Each run is a fresh ``neurosafe run --json`` process (so the cached time includes starting Python and
importing torch); CPU time is the child's user + system time (``resource.getrusage``). The cached re-run
should take seconds (issue 18: under 5 s on 2 cores): the whole study is one cache entry
(``OUT/default/cache/study-*.json``, keyed by the config, the data's bytes and neurosafe's source), so the
re-run imports neither the runner nor matplotlib, torch, scipy, scikit-learn or xarray (package ``__init__``s
import their names on first use, ``neurosafe.core.lazy``) and redraws no figure (the report's figures are keyed
by the results and the code). Run by hand, on a quiet machine:
``OMP_NUM_THREADS=1 python benchmarks/study.py [OUT]`` (default OUT: a temporary folder; the first run takes
minutes). With an OUT that already holds the study, both runs are cached re-runs (labelled so).
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def timed(args: list[str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="neurosafe-bench-"))
    exe = str(Path(sys.executable).with_name("neurosafe"))
    cmd = [exe, "run", "--out", str(out), "--json"]
    cached_before = (out / "default" / "cache").exists()
    first = timed(cmd)
    cached = timed(cmd)
    label = "first run" if not cached_before else "first run (cache already present!)"
    print(f"cores: {os.cpu_count()}, threads: OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}")
    print(f"{label:>36}: wall {first[0]:7.1f} s, CPU {first[1]:7.1f} s")
    print(f"{'fully cached re-run':>36}: wall {cached[0]:7.1f} s, CPU {cached[1]:7.1f} s")
    print(f"{'speed-up of the cached re-run':>36}: {first[0] / cached[0]:.0f}x")


if __name__ == "__main__":
    main()
