"""Run a command and measure it: wall time, peak memory of its process tree, rusage.

Linux only (/proc). Shared by the build and HTTP benchmarks.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path


def tree(pid: int) -> list[int]:
    """``pid`` and its descendants, from /proc/<pid>/task/<tid>/children (no scan of all of /proc)."""
    todo, seen = [pid], []
    while todo:
        p = todo.pop()
        seen.append(p)
        try:
            tasks = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for tid in tasks:
            try:
                todo.extend(int(c) for c in Path(f"/proc/{p}/task/{tid}/children").read_text().split())
            except OSError:
                pass
    return seen


def rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def memory_kib(pid: int) -> dict[str, int]:
    """Rss, Pss, Shared_Clean, Private_* ... in KiB from /proc/<pid>/smaps_rollup ({} if gone)."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return {}
    out = {}
    for line in text.splitlines()[1:]:
        parts = line.split()
        if len(parts) >= 2 and parts[0].endswith(":") and parts[1].isdigit():
            out[parts[0][:-1]] = int(parts[1])
    return out


@dataclass
class Run:
    returncode: int
    seconds: float
    max_rss_kib: int  # ru_maxrss: the largest single process of the tree
    peak_tree_rss_kib: int  # largest sum of RSS over the tree seen while polling
    peak_tree_pss_kib: int  # same with PSS (shared pages counted once), sampled every pss_every polls
    user_s: float  # CPU of the process and its waited-for children
    sys_s: float
    stdout: str
    stderr: str


def measure(cmd: list[str], timeout: float, poll: float = 0.1, pss_every: int = 10, **popen) -> Run:
    """Run ``cmd`` to completion (killing its process group after ``timeout`` seconds)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True, **popen)
    captured = {}

    def drain(name, stream):
        captured[name] = stream.read().decode("utf-8", "replace")

    readers = [threading.Thread(target=drain, args=(n, s), daemon=True) for n, s in (("out", proc.stdout), ("err", proc.stderr))]
    for r in readers:
        r.start()
    peak_rss = peak_pss = polls = 0
    deadline = t0 + timeout
    while True:
        # wait4 (not Popen.wait) keeps the child's rusage: ru_maxrss and CPU times.
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        pids = tree(proc.pid)
        peak_rss = max(peak_rss, sum(rss_kib(p) for p in pids))
        polls += 1
        if polls % pss_every == 0:
            # smaps_rollup walks the page tables: costly on a big process, so less often.
            peak_pss = max(peak_pss, sum(memory_kib(p).get("Pss", 0) for p in pids))
        if time.perf_counter() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
        time.sleep(poll)
    seconds = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    for r in readers:
        r.join(timeout=10)
    return Run(proc.returncode, seconds, usage.ru_maxrss, max(peak_rss, usage.ru_maxrss), peak_pss,
               usage.ru_utime, usage.ru_stime, captured.get("out", ""), captured.get("err", ""))


def du_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())
