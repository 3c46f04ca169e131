#!/usr/bin/env python3
"""HTTP benchmark: wrk against gunicorn (gunicorn.conf.py, as `make run` serves), direct and behind nginx.

    python benchmarks/bench_http.py --index /tmp/faq-bench/index-100000 --queries /tmp/faq-bench/queries-100000.jsonl

Scenarios (all on loopback, free ports, each wrk run bounded by --duration):
* ``direct``: one gunicorn replica; ``/healthz`` (the trivial endpoint: same app, same server, the same
  before-request hook and index lookup, a small JSON body, no search) beside ``/api/search`` cycling
  through the queries, and ``/api/suggest`` cycling through their first 1–6 characters (as typed);
* ``nginx1`` / ``nginx2``: deploy/nginx.conf (ports rewritten) in front of one / two replicas;
* ``cached``: as ``direct`` with the search cache on (FAQ_SEARCH_CACHE's default). The queries repeat
  within a run and a longer warm-up (--cache-warmup) fills every worker's cache first, so this measures
  answers from memory; every other scenario runs with the cache off.
Then the memory of each gunicorn process (RSS and PSS from /proc/<pid>/smaps_rollup: PSS counts pages
shared by the preloaded master and its forked workers once).

Needs wrk and nginx (Debian: apt-get install wrk nginx). wrk runs on the same 2 cores as the servers,
so absolute numbers are lower than on a dedicated load generator; the ratios are the point.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from contextlib import ExitStack, contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from proctree import memory_kib, tree  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} not healthy after {timeout}s")


def stop(proc: subprocess.Popen) -> None:
    """SIGTERM the process group we started, SIGKILL after 20 s."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@contextmanager
def gunicorn(index: Path, port: int, workers: int, log_dir: Path, timeout: float = 600, cache: bool = False):
    # One wrk client would exhaust the per-client rate limit at once: raise it (the limiter still runs),
    # and keep the query log (on, as in production) out of the repository. wrk cycles through the
    # queries, so they repeat within a run: the search cache is off unless asked for (`cached`).
    env = {"FAQ_RATE_API": str(10**9), "FAQ_DATA_DIR": str(log_dir / f"data-{port}"), **os.environ,
           "FAQ_INDEX_DIR": str(index), "HOST": "127.0.0.1", "PORT": str(port), "WEB_CONCURRENCY": str(workers)}
    if not cache:
        env["FAQ_SEARCH_CACHE"] = "0"
    log = open(log_dir / f"gunicorn-{port}.log", "wb")
    cmd = [str(Path(sys.executable).parent / "gunicorn"), "-c", "gunicorn.conf.py", "server:app"]
    started = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=log, start_new_session=True)
    try:
        wait_healthy(f"http://127.0.0.1:{port}/healthz", proc, timeout)
        proc.start_seconds = time.monotonic() - started  # until /healthz answers: index and completions loaded
        yield proc
    finally:
        stop(proc)
        log.close()


def nginx_conf(ports: list[int], listen: int) -> str:
    """deploy/nginx.conf with its upstream servers and listen port replaced by ours."""
    lines, replaced = [], False
    for line in (ROOT / "deploy" / "nginx.conf").read_text().splitlines():
        stripped = line.strip()
        if stripped.startswith("server 127.0.0.1:"):
            if not replaced:
                opts = stripped.split(" ", 2)[2]
                lines += [f"        server 127.0.0.1:{p} {opts}" for p in ports]
                replaced = True
            continue
        if stripped.startswith("listen "):
            line = f"        listen 127.0.0.1:{listen};"
        lines.append(line)
    return "\n".join(lines) + "\n"


@contextmanager
def nginx(ports: list[int], listen: int, prefix: Path):
    prefix.mkdir(parents=True, exist_ok=True)  # nginx makes its temporary directories in it
    conf = prefix / "nginx.conf"
    conf.write_text(nginx_conf(ports, listen))
    log = open(prefix / "nginx.out", "wb")
    proc = subprocess.Popen([shutil.which("nginx") or "/usr/sbin/nginx", "-p", str(prefix) + "/", "-c", str(conf), "-g", "daemon off;"],
                            stdout=log, stderr=log, start_new_session=True)
    try:
        wait_healthy(f"http://127.0.0.1:{listen}/healthz", proc, 30)
        yield proc
    finally:
        stop(proc)
        log.close()


def wrk(base: str, paths_file: Path, duration: int, connections: int, threads: int) -> dict:
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--timeout", "5s",
           "-s", str(HERE / "wrk_paths.lua"), base, "--", str(paths_file)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60)
    for line in out.stdout.splitlines():
        if line.startswith("WRK_JSON "):
            r = json.loads(line[len("WRK_JSON "):])
            seconds = r["duration_us"] / 1e6
            return {
                "rps": round(r["requests"] / seconds, 1),
                "p50_ms": round(r["p50_us"] / 1000, 2),
                "p90_ms": round(r["p90_us"] / 1000, 2),
                "p99_ms": round(r["p99_us"] / 1000, 2),
                "requests": r["requests"],
                "errors": r["status_errors"] + r["connect_errors"] + r["read_errors"] + r["write_errors"] + r["timeouts"],
            }
    raise RuntimeError(f"wrk gave no summary:\n{out.stdout}\n{out.stderr}")


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of ``pids`` so far (/proc/<pid>/stat; a process's figure covers its threads)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def memory_table(name: str, proc: subprocess.Popen) -> list[dict]:
    rows = []
    for pid in tree(proc.pid):
        m = memory_kib(pid)
        if not m:
            continue
        role = "master" if pid == proc.pid else "worker"
        rows.append({"replica": name, "pid": pid, "role": role, "rss_mib": round(m.get("Rss", 0) / 1024, 1),
                     "pss_mib": round(m.get("Pss", 0) / 1024, 1),
                     "shared_mib": round((m.get("Shared_Clean", 0) + m.get("Shared_Dirty", 0)) / 1024, 1),
                     "private_mib": round((m.get("Private_Clean", 0) + m.get("Private_Dirty", 0)) / 1024, 1)})
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="wrk: /api/search beside /healthz; nginx + replicas beside one replica.")
    p.add_argument("--index", type=Path, required=True, help="index directory (with CURRENT)")
    p.add_argument("--queries", type=Path, required=True, help="queries-<N>.jsonl from gen_corpus.py")
    p.add_argument("--duration", type=int, default=20, help="seconds per wrk run")
    p.add_argument("--warmup", type=int, default=3, help="seconds of wrk before each measured run")
    p.add_argument("--cache-warmup", type=int, default=15,
                   help="seconds of wrk before the cached scenario's searches: each worker must have met each query")
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--threads", type=int, default=1, help="wrk threads (it shares the cores with the servers)")
    p.add_argument("--workers", type=int, default=2, help="gunicorn workers per replica (WEB_CONCURRENCY)")
    p.add_argument("--scenarios", default="direct,cached,nginx1,nginx2")
    p.add_argument("--out", type=Path, default=None, help="write the results here as JSON")
    args = p.parse_args(argv)
    for tool in ("wrk", "nginx"):
        if tool == "nginx" and not any(s.startswith("nginx") for s in args.scenarios.split(",")):
            continue
        if not (shutil.which(tool) or Path(f"/usr/sbin/{tool}").exists()):
            raise SystemExit(f"{tool} not found (Debian: apt-get install {tool})")

    if "nginx" in args.scenarios and not (ROOT / "deploy" / "nginx.conf").exists():
        raise SystemExit(f"{ROOT / 'deploy' / 'nginx.conf'} not found")
    work = Path(tempfile.mkdtemp(prefix="faq-http-"))
    search_paths = work / "search.txt"
    with open(args.queries, encoding="utf-8") as f, open(search_paths, "w") as out:
        for line in f:
            q = json.loads(line)["query"].strip()
            if q:
                out.write("/api/search?" + urllib.parse.urlencode({"q": q}) + "\n")
    health_paths = work / "healthz.txt"
    health_paths.write_text("/healthz\n")
    # What a search box sends while a query is typed: each query's first 1–6 characters.
    suggest_paths = work / "suggest.txt"
    with open(args.queries, encoding="utf-8") as f, open(suggest_paths, "w") as out:
        for line in f:
            q = json.loads(line)["query"].strip()
            for i in range(1, min(len(q), 6) + 1):
                out.write("/api/suggest?" + urllib.parse.urlencode({"q": q[:i]}) + "\n")

    def measure(base: str, paths: Path, servers: list[int], warmup: int) -> dict:
        wrk(base, paths, warmup, args.connections, args.threads)
        cpu = cpu_seconds(servers)
        r = wrk(base, paths, args.duration, args.connections, args.threads)
        # The servers' own CPU per request: what other processes on the machine barely change.
        r["server_cpu_ms"] = round((cpu_seconds(servers) - cpu) * 1000 / max(1, r["requests"]), 3)
        return r

    runs, memory, starts = [], [], []
    for scenario in args.scenarios.split(","):
        with ExitStack() as stack:
            replicas = 2 if scenario == "nginx2" else 1
            ports = [free_port() for _ in range(replicas)]
            procs = [stack.enter_context(gunicorn(args.index, port, args.workers, work, cache=scenario == "cached"))
                     for port in ports]
            starts.append((scenario, [round(p.start_seconds, 2) for p in procs]))
            if scenario in ("direct", "cached"):
                base = f"http://127.0.0.1:{ports[0]}"
            else:
                listen = free_port()
                stack.enter_context(nginx(ports, listen, work / f"nginx-{scenario}"))
                base = f"http://127.0.0.1:{listen}"
            endpoints = [("/healthz", health_paths), ("/api/search", search_paths)]
            if scenario == "direct":
                endpoints.append(("/api/suggest", suggest_paths))
            for endpoint, paths in endpoints:
                load_before = round(os.getloadavg()[0], 2)
                # Cached searches: warm until every worker has answered every query (which worker gets a
                # request is chance), so the run measures answers from memory, not the first pass.
                warmup = args.cache_warmup if scenario == "cached" and endpoint != "/healthz" else args.warmup
                r = measure(base, paths, [pid for p in procs for pid in tree(p.pid)], warmup)
                r.update(scenario=scenario, replicas=replicas, endpoint=endpoint, load_before=load_before,
                         load_avg=round(os.getloadavg()[0], 2))
                runs.append(r)
                print(f"{scenario} {endpoint}: {r['rps']} req/s p50 {r['p50_ms']} ms p99 {r['p99_ms']} ms errors {r['errors']} "
                      f"server CPU {r['server_cpu_ms']} ms/request "
                      f"load {load_before} → {r['load_avg']}",
                      file=sys.stderr, flush=True)
            if scenario == "direct":
                memory = memory_table("replica 1", procs[0])
            if args.out:  # after every scenario, so a failure later keeps what was measured
                args.out.write_text(json.dumps({"runs": runs, "memory": memory, "start_seconds": starts}, indent=2))
    shutil.rmtree(work, ignore_errors=True)

    print("| scenario | endpoint | req/s | p50 ms | p90 ms | p99 ms | errors | endpoint/healthz throughput "
          "| server CPU ms/request | healthz/endpoint server CPU | load before / after |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    by = {(r["scenario"], r["endpoint"]): r for r in runs}
    for r in runs:
        ratio = cpu_ratio = ""
        if r["endpoint"] != "/healthz" and (r["scenario"], "/healthz") in by:
            health = by[(r["scenario"], "/healthz")]
            ratio = f"{r['rps'] / health['rps']:.0%}"
            cpu_ratio = f"{health['server_cpu_ms'] / max(r['server_cpu_ms'], 1e-9):.0%}"
        label = {"direct": "gunicorn, 1 replica", "cached": "gunicorn, 1 replica, search cache on (queries repeat)",
                 "nginx1": "nginx → 1 replica", "nginx2": "nginx → 2 replicas"}[r["scenario"]]
        print(f"| {label} | `{r['endpoint']}` | {r['rps']} | {r['p50_ms']} | {r['p90_ms']} | {r['p99_ms']} | {r['errors']} | {ratio} "
              f"| {r['server_cpu_ms']} | {cpu_ratio} | {r['load_before']} / {r['load_avg']} |")
    print("\nreplica start (gunicorn launched → /healthz answers), s: "
          + "; ".join(f"{name} {', '.join(map(str, secs))}" for name, secs in starts))
    if memory:
        print()
        print("| process | RSS MiB | PSS MiB | shared MiB | private MiB |")
        print("|---|---:|---:|---:|---:|")
        for m in memory:
            print(f"| {m['role']} {m['pid']} | {m['rss_mib']} | {m['pss_mib']} | {m['shared_mib']} | {m['private_mib']} |")
        print(f"| **total (PSS)** | {sum(m['rss_mib'] for m in memory):.1f} (sum of RSS) | {sum(m['pss_mib'] for m in memory):.1f} | | |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
