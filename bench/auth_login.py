"""Auth login throughput against a bare Argon2 verify loop with the same worker count.

A login is one Argon2id verification (OWASP parameters: m=19 MiB, t=2, p=1) plus everything
around it: HTTP, the account lookup, the throttle check in Redis, a refresh-token family and
token written to PostgreSQL, an RS256 signature. The Argon2 work runs on a pool of
``ARGON2_WORKERS`` threads, so the ceiling is what that many threads verify per second with
nothing else to do. The goal is logins/s >= 85% of that ceiling.

The auth service runs as a real child process (``ServiceProcess``: uvicorn, one worker) on a
fresh database built by its migrations; the load comes from ``wrk`` when it is installed
(``apt-get install -y wrk``), else from an aiohttp client. Both sides are measured in
interleaved rounds (bare, logins, bare, logins, ...) so drift on a shared machine hits both
alike; the table shows each round and the medians.

The same run then asks the second question of the benchmark: does hammering logins hurt the
rest of the shop? The product service runs as a second child process on the same database
(its real migrations, the demo catalog) and is probed at a steady ``--rate`` (50 GET
``/api/products/{id}`` per second, open loop: a slow answer never delays the next request,
so queueing shows up in the latency instead of lowering the rate) from an aiohttp client, in
interleaved rounds: idle, then while logins are hammered at full concurrency (wrk, or aiohttp
in a process of its own), idle, loaded, ... The goal is a loaded p99 at most 2x the idle one.
Client and services share the machine's cores, as a gateway on the same box would.

Standalone: ``uv run python bench/auth_login.py [--workers N] [--seconds S] [--rounds R]
[--rate N] [--probe-seconds S]``; it stops by itself (about 80 s with the defaults). A missed
goal is printed, never an exit status.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import multiprocessing
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from argon2 import PasswordHasher, Type

from empora_common.testing.infra import (
    discover_test_infra,
    drop_database,
    migrated_database,
    remove_redis_keys,
)
from empora_common.testing.processes import ServiceProcess
from empora_product.seed import seed_catalog
from empora_product.settings import ProductSettings

EMAIL = "bench-login@example.com"
PASSWORD = "violet-harbor-47-lantern"
OWASP = {"memory_cost": 19_456, "time_cost": 2, "parallelism": 1}
LATENCY_GOAL = 2.0  # product GET p99 while logins are hammered, as a multiple of idle


# ------------------------------------------------------------------------- the ceiling


def bare_verify_rate(workers: int, seconds: float) -> tuple[float, float]:
    """Argon2 verifications per second with ``workers`` threads doing nothing else, and the
    CPU seconds each one cost."""
    hasher = PasswordHasher(type=Type.ID, hash_len=32, salt_len=16, **OWASP)
    stored = hasher.hash(PASSWORD)
    stop = threading.Event()
    counts = [0] * workers

    def spin(index: int) -> None:
        while not stop.is_set():
            hasher.verify(stored, PASSWORD)
            counts[index] += 1

    with ThreadPoolExecutor(max_workers=workers) as pool:
        cpu_before = time.process_time()
        started = time.perf_counter()
        futures = [pool.submit(spin, i) for i in range(workers)]
        time.sleep(seconds)
        stop.set()
        for future in futures:
            future.result()
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu_before
    done = sum(counts)
    return done / elapsed, cpu / max(1, done)


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a process (Linux /proc), None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# ------------------------------------------------------------------------------ logins

_WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{body}'
done = function(summary, latency, requests)
  io.write(string.format("STATUS non2xx=%d errors=%d\\n", summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
"""


def wrk_login_rate(url: str, connections: int, seconds: float, script: Path) -> float:
    """Logins per second measured by wrk (every answer must be a 200)."""
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            url + "/api/auth/login",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    status = re.search(r"STATUS non2xx=(\d+) errors=(\d+)", out)
    if status is None or status.group(1) != "0" or status.group(2) != "0":
        raise RuntimeError(f"logins failed during the benchmark:\n{out}")
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if rate is None:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    return float(rate.group(1))


async def aiohttp_login_rate(
    url: str, connections: int, seconds: float, email: str = EMAIL
) -> float:
    """Logins per second from ``connections`` concurrent aiohttp clients."""
    body = {"email": email, "password": PASSWORD}
    done = 0
    deadline = time.perf_counter() + seconds

    async def client(session: aiohttp.ClientSession) -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            async with session.post(url + "/api/auth/login", json=body) as resp:
                await resp.read()
                if resp.status != 200:
                    raise RuntimeError(f"login answered {resp.status}")
            done += 1

    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.perf_counter()
        await asyncio.gather(*(client(session) for _ in range(connections)))
        return done / (time.perf_counter() - started)


def hammer_logins(url: str, connections: int, seconds: float) -> float:
    """``aiohttp_login_rate`` in a process of its own, so the load never shares an event loop
    (or the GIL) with the latency probe."""
    return asyncio.run(aiohttp_login_rate(url, connections, seconds))


# --------------------------------------------------------------------- product latency


def percentile(samples: list[float], p: float) -> float:
    """Nearest-rank percentile (``p`` in 0..100) of a non-empty list."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


async def probe_products(
    session: aiohttp.ClientSession, url: str, paths: list[str], rate: float, seconds: float
) -> list[float]:
    """Latency (ms) of ``rate`` GETs per second for ``seconds``, cycling through ``paths``.

    Open loop: each request leaves at its scheduled time whether or not earlier ones have
    answered, so a slow service cannot slow the probe down and hide its own queueing.
    """
    latencies: list[float] = []
    failures: list[str] = []

    async def one(path: str) -> None:
        started = time.perf_counter()
        try:
            async with session.get(url + path) as resp:
                await resp.read()
                if resp.status != 200:
                    failures.append(f"GET {path} answered {resp.status}")
                    return
        except (aiohttp.ClientError, TimeoutError) as exc:
            failures.append(f"GET {path} failed: {exc!r}")
            return
        latencies.append((time.perf_counter() - started) * 1000)

    tasks: list[asyncio.Task[None]] = []
    start = time.perf_counter()
    for i in range(max(1, round(rate * seconds))):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(paths[i % len(paths)])))
    await asyncio.gather(*tasks)
    if failures:
        raise RuntimeError(f"{len(failures)} product GETs failed, first: {failures[0]}")
    return latencies


async def prepare_catalog(url: str, env: dict[str, Any]) -> list[str]:
    """Seed the demo catalog; the detail paths of the newest products, read once (warm)."""
    await seed_catalog(ProductSettings(**env))
    async with aiohttp.ClientSession() as session:
        async with session.get(url + "/api/products?limit=20") as resp:
            if resp.status != 200:
                raise RuntimeError(f"product list answered {resp.status}: {await resp.text()}")
            products = (await resp.json())["data"]
        paths = [f"/api/products/{p['id']}" for p in products]
        if not paths:
            raise RuntimeError("the demo catalog is empty")
        for path in paths:
            async with session.get(url + path) as resp:
                if resp.status != 200:
                    raise RuntimeError(f"GET {path} answered {resp.status}: {await resp.text()}")
    return paths


# ------------------------------------------------------------------------------- setup


# Every service this run starts gets its own prefix under this stem, all removed at the end.
RUN_STEM = f"bench{uuid.uuid4().hex[:8]}"


def service_env(database_url: str, infra: Any, workers: int) -> dict[str, Any]:
    run = f"{RUN_STEM}{uuid.uuid4().hex[:4]}."
    return {
        "DATABASE_URL": database_url,
        "REDIS_URL": infra.redis_url,
        "AMQP_URL": infra.amqp_url,
        "REDIS_PREFIX": run,
        "AMQP_PREFIX": run,
        "EMPORA_ENV": "test",
        "EMPORA_RUN_WORKERS": "false",
        "LOG_LEVEL": "WARNING",
        "ARGON2_WORKERS": workers,
        # Successful logins never count against the limits; these only guard the set-up.
        "RATE_LIMIT_SIGNUP_IP": 1_000_000,
        "RATE_LIMIT_LOGIN_IP": 1_000_000,
        "RATE_LIMIT_LOGIN_ACCOUNT": 1_000_000,
    }


async def prepare(url: str, email: str = EMAIL) -> None:
    """Register the benchmark account and warm the service up."""
    async with aiohttp.ClientSession() as session:
        async with session.post(
            url + "/api/auth/register", json={"email": email, "password": PASSWORD}
        ) as resp:
            if resp.status != 201:
                raise RuntimeError(f"register answered {resp.status}: {await resp.text()}")
        for _ in range(5):
            async with session.post(
                url + "/api/auth/login", json={"email": email, "password": PASSWORD}
            ) as resp:
                if resp.status != 200:
                    raise RuntimeError(f"login answered {resp.status}: {await resp.text()}")


@dataclass
class Round:
    index: int
    bare_rate: float
    bare_cpu_ms: float
    login_rate: float
    login_cpu_ms: float | None

    @property
    def ratio(self) -> float:
        return self.login_rate / self.bare_rate


async def overhead_per_login(
    database_url: str, infra: Any, workers: int, seconds: float, tool: str, tmp: Path
) -> float | None:
    """CPU ms a login costs the service besides Argon2 (a service with a trivial Argon2 cost).

    Unlike throughput, this hardly moves when other processes share the machine.
    """
    env = service_env(database_url, infra, workers)
    env.update({"ARGON2_MEMORY_COST": 8, "ARGON2_TIME_COST": 1})
    service = ServiceProcess("auth", env)
    email = "bench-overhead@example.com"
    try:
        service.start()
        await service.wait_ready(timeout=30)
        await prepare(service.url, email)
        pid = service.proc.pid if service.proc is not None else 0
        before = process_cpu_seconds(pid)
        started = time.perf_counter()
        if tool == "wrk":
            script = tmp / "overhead.lua"
            script.write_text(
                _WRK_SCRIPT.replace("{body}", json.dumps({"email": email, "password": PASSWORD}))
            )
            rate = await asyncio.to_thread(wrk_login_rate, service.url, 8, seconds, script)
        else:
            rate = await aiohttp_login_rate(service.url, 8, seconds, email)
        elapsed = time.perf_counter() - started
        after = process_cpu_seconds(pid)
    finally:
        service.stop()
    if before is None or after is None or rate <= 0:
        return None
    return (after - before) / (rate * elapsed) * 1000


def print_table(rows: list[Round], workers: int, tool: str, overhead_ms: float | None) -> None:
    print()
    print(
        f"auth login vs bare Argon2id verify (m=19456 KiB, t=2, p=1), {workers} workers,"
        f" load from {tool}"
    )
    head = (
        f"{'round':>6} | {'bare verify/s':>13} | {'logins/s':>8} | {'ratio':>6} |"
        f" {'CPU ms/verify':>13} | {'CPU ms/login':>12}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        login_cpu = f"{r.login_cpu_ms:>12.2f}" if r.login_cpu_ms is not None else f"{'n/a':>12}"
        print(
            f"{r.index:>6} | {r.bare_rate:>13.1f} | {r.login_rate:>8.1f} | {r.ratio:>6.1%} |"
            f" {r.bare_cpu_ms:>13.2f} | {login_cpu}"
        )
    ratio = statistics.median(r.ratio for r in rows)
    print(
        f"{'median':>6} | {statistics.median(r.bare_rate for r in rows):>13.1f} |"
        f" {statistics.median(r.login_rate for r in rows):>8.1f} | {ratio:>6.1%} |"
        f" {statistics.median(r.bare_cpu_ms for r in rows):>13.2f} |"
    )
    verdict = "meets" if ratio >= 0.85 else "misses"
    print(f"\nlogins/s reach {ratio:.1%} of the bare verify rate ({verdict} the 85% goal)")
    cpus = [r.login_cpu_ms for r in rows if r.login_cpu_ms is not None]
    if cpus:
        bare_cpu = statistics.median(r.bare_cpu_ms for r in rows)
        print(
            f"CPU per login in the service process: {statistics.median(cpus):.2f} ms, of which"
            f" Argon2 is {bare_cpu:.2f} ms ({bare_cpu / statistics.median(cpus):.1%});"
            " PostgreSQL and Redis work is on top, in their own processes."
        )
    if overhead_ms is not None:
        bare_cpu = statistics.median(r.bare_cpu_ms for r in rows)
        print(
            f"CPU per login besides Argon2 (service with a trivial Argon2 cost):"
            f" {overhead_ms:.2f} ms -> at most {bare_cpu / (bare_cpu + overhead_ms):.1%}"
            " of the bare rate when the service has the cores to itself"
        )


@dataclass
class LatencyRound:
    index: int
    idle_ms: list[float]
    loaded_ms: list[float]
    login_rate: float

    @property
    def ratio(self) -> float:
        return percentile(self.loaded_ms, 99) / percentile(self.idle_ms, 99)


async def latency_rounds(
    product_url: str,
    paths: list[str],
    auth_url: str,
    connections: int,
    args: argparse.Namespace,
    tool: str,
    script: Path,
) -> list[LatencyRound]:
    """Interleaved rounds of product GET latency: idle, then while logins are hammered."""
    loop = asyncio.get_running_loop()
    pool: Executor | None = None
    if tool != "wrk":
        pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
        await loop.run_in_executor(pool, time.sleep, 0)  # the process starts now, not mid-round
    rows: list[LatencyRound] = []
    # The hammer starts first and outlasts the probe: every login connection is busy and the
    # Argon2 pool saturated for the whole of the loaded sample.
    ramp = 0.5
    hammer_seconds = math.ceil(args.probe_seconds + 2 * ramp)
    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=64), timeout=aiohttp.ClientTimeout(total=10)
    )
    try:
        # Warm: the probe's connections, the service's pool and cache.
        await probe_products(session, product_url, paths, args.rate, 1.0)
        for index in range(1, args.rounds + 1):
            idle = await probe_products(session, product_url, paths, args.rate, args.probe_seconds)
            if tool == "wrk":
                hammer = asyncio.ensure_future(
                    asyncio.to_thread(wrk_login_rate, auth_url, connections, hammer_seconds, script)
                )
            else:
                hammer = asyncio.ensure_future(
                    loop.run_in_executor(pool, hammer_logins, auth_url, connections, hammer_seconds)
                )
            try:
                await asyncio.sleep(ramp)
                loaded = await probe_products(
                    session, product_url, paths, args.rate, args.probe_seconds
                )
            except BaseException:
                await asyncio.gather(hammer, return_exceptions=True)
                raise
            row = LatencyRound(index, idle, loaded, await hammer)
            rows.append(row)
            print(
                f"latency round {index}: product GET p99 idle {percentile(idle, 99):.1f} ms,"
                f" loaded {percentile(loaded, 99):.1f} ms ({row.login_rate:.1f} logins/s)",
                flush=True,
            )
    finally:
        await session.close()
        if pool is not None:
            pool.shutdown()
    return rows


def print_latency_table(
    rows: list[LatencyRound], rate: float, seconds: float, connections: int, tool: str
) -> None:
    print()
    print(
        f"product GET /api/products/{{id}} latency in ms, {rate:g} req/s steady for {seconds:g} s"
        f" a round, idle vs while {connections} connections hammer logins ({tool})"
    )
    head = (
        f"{'round':>6} | {'idle p50':>8} | {'idle p99':>8} | {'loaded p50':>10} |"
        f" {'loaded p99':>10} | {'p99 ratio':>9} | {'logins/s':>8}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        print(
            f"{r.index:>6} | {percentile(r.idle_ms, 50):>8.1f} | {percentile(r.idle_ms, 99):>8.1f}"
            f" | {percentile(r.loaded_ms, 50):>10.1f} | {percentile(r.loaded_ms, 99):>10.1f}"
            f" | {r.ratio:>8.2f}x | {r.login_rate:>8.1f}"
        )
    idle = [ms for r in rows for ms in r.idle_ms]
    loaded = [ms for r in rows for ms in r.loaded_ms]
    idle_p99, loaded_p99 = percentile(idle, 99), percentile(loaded, 99)
    ratio = loaded_p99 / idle_p99
    print(
        f"{'all':>6} | {percentile(idle, 50):>8.1f} | {idle_p99:>8.1f}"
        f" | {percentile(loaded, 50):>10.1f} | {loaded_p99:>10.1f} | {ratio:>8.2f}x |"
        f" {statistics.median(r.login_rate for r in rows):>8.1f}"
    )
    print(
        f"(all: percentiles over every round's requests, {len(idle)} idle and {len(loaded)}"
        " loaded; logins/s is the median)"
    )
    verdict = "meets" if ratio <= LATENCY_GOAL else "misses"
    print(
        f"\nproduct GET p99 while logins are hammered: {loaded_p99:.1f} ms vs {idle_p99:.1f} ms"
        f" idle = {ratio:.2f}x ({verdict} the <= {LATENCY_GOAL:g}x goal)"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # The auth service's default Argon2 pool: one thread fewer than the machine's cores.
    parser.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 2) - 1))
    parser.add_argument("--seconds", type=float, default=4.0, help="length of each round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rate", type=float, default=50.0, help="product GETs per second")
    parser.add_argument(
        "--probe-seconds", type=float, default=5.0, help="length of each latency sample"
    )
    args = parser.parse_args()
    workers = max(1, args.workers)
    connections = workers * 4

    infra = discover_test_infra()
    name, database_url = await migrated_database(
        infra.admin_database_url, services=("auth", "product")
    )
    env = service_env(database_url, infra, workers)
    service = ServiceProcess("auth", env)
    # The product service ignores the auth settings; it fetches the JWKS from this auth.
    product_env = {**env, "AUTH_URL": service.url}
    product = ServiceProcess("product", product_env)
    tool = "wrk" if shutil.which("wrk") else "aiohttp"
    try:
        service.start()
        product.start()
        await service.wait_ready(timeout=30)
        await prepare(service.url)
        await product.wait_ready(timeout=30)
        paths = await prepare_catalog(product.url, product_env)
        rows: list[Round] = []
        pid = service.proc.pid if service.proc is not None else 0
        with tempfile.TemporaryDirectory() as tmp:
            script = Path(tmp) / "login.lua"
            script.write_text(
                _WRK_SCRIPT.replace("{body}", json.dumps({"email": EMAIL, "password": PASSWORD}))
            )
            for index in range(1, args.rounds + 1):
                bare, bare_cpu = await asyncio.to_thread(bare_verify_rate, workers, args.seconds)
                cpu_before = process_cpu_seconds(pid)
                started = time.perf_counter()
                if tool == "wrk":
                    logins = await asyncio.to_thread(
                        wrk_login_rate, service.url, connections, args.seconds, script
                    )
                else:
                    logins = await aiohttp_login_rate(service.url, connections, args.seconds)
                elapsed = time.perf_counter() - started
                cpu_after = process_cpu_seconds(pid)
                login_cpu = None
                if cpu_before is not None and cpu_after is not None and logins > 0:
                    login_cpu = (cpu_after - cpu_before) / (logins * elapsed) * 1000
                rows.append(Round(index, bare, bare_cpu * 1000, logins, login_cpu))
                print(f"round {index}: bare {bare:.1f}/s, logins {logins:.1f}/s", flush=True)
            latency = await latency_rounds(
                product.url, paths, service.url, connections, args, tool, script
            )
            product.stop()
            service.stop()
            overhead = await overhead_per_login(
                database_url, infra, workers, min(args.seconds, 4.0), tool, Path(tmp)
            )
        print_table(rows, workers, tool, overhead)
        print_latency_table(latency, args.rate, args.probe_seconds, connections, tool)
    finally:
        product.stop()
        service.stop()
        await drop_database(infra.admin_database_url, name)
        await remove_redis_keys(infra.redis_url, RUN_STEM)


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(130)
