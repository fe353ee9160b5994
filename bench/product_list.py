"""Benchmark: the product list endpoint vs a bare asyncpg loop, and cached vs uncached detail.

    uv run python bench/product_list.py

Builds a fresh database with the product service's real migrations and the demo catalog,
starts the service as a real process (``ServiceProcess``, one uvicorn worker, no background
workers), and measures with ``wrk`` (or an aiohttp loop when wrk is not installed):

* ``GET /api/products?limit=20`` served from the cache (stock merged from the database),
* the same with the cache disabled (the full listing query on every request),
* the bare asyncpg loop running the very statement the service runs, same pool size,
* ``GET /api/products/{id}`` cached and uncached,
* a search page (``?q=wireless headph``) cached and uncached.

"Per core" = requests per CPU-second spent serving them: the serving process (the service,
or the asyncpg loop's own process) plus the PostgreSQL backends it talks to (read from /proc;
Redis, shared with everyone, is left out). Without the database side the bare loop only
decodes rows, which no HTTP service can approach; both figures are printed. Stops by itself
in about a minute.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from typing import Any

import aiohttp
import asyncpg

from empora_common.db import plain_database_url
from empora_common.testing.infra import (
    discover_test_infra,
    drop_database,
    migrated_database,
    remove_redis_keys,
)
from empora_common.testing.processes import ServiceProcess
from empora_product.products.search import ListQuery, build_list_statement
from empora_product.seed import seed_catalog
from empora_product.settings import ProductSettings

CONNECTIONS = 32
POOL_SIZE = 10
DURATION = 6  # seconds per measurement
GOAL = 0.35


@dataclass
class Result:
    name: str
    requests: int
    seconds: float
    cpu_seconds: float  # the serving process
    db_cpu_seconds: float  # its PostgreSQL backends

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def per_process_core(self) -> float:
        return self.requests / self.cpu_seconds if self.cpu_seconds else float("nan")

    @property
    def per_core(self) -> float:
        total = self.cpu_seconds + self.db_cpu_seconds
        return self.requests / total if total else float("nan")


def cpu_of(pid: int) -> float:
    """User + system CPU seconds of a process (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


class Backends:
    """CPU time of the PostgreSQL backends serving one client (by application_name)."""

    def __init__(self, database_url: str, application_prefix: str) -> None:
        self.database_url = database_url
        self.prefix = application_prefix

    async def cpu(self) -> float:
        conn = await asyncpg.connect(plain_database_url(self.database_url))
        try:
            pids = await conn.fetch(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                " AND starts_with(application_name, $1)",
                self.prefix,
            )
        finally:
            await conn.close()
        total = 0.0
        for row in pids:
            with contextlib.suppress(OSError):  # a backend that just ended
                total += cpu_of(row["pid"])
        return total


async def load(url: str, seconds: float) -> int:
    """Requests completed against ``url`` in ``seconds`` with CONNECTIONS clients."""
    wrk = shutil.which("wrk")
    if wrk is not None:
        out = await asyncio.to_thread(
            subprocess.run,
            [wrk, "-t1", f"-c{CONNECTIONS}", f"-d{int(seconds)}s", url],
            capture_output=True,
            text=True,
            check=True,
        )
        match = re.search(r"(\d+) requests in", out.stdout)
        non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out.stdout)
        if match is None or non2xx is not None:
            raise RuntimeError(f"wrk failed:\n{out.stdout}\n{out.stderr}")
        return int(match.group(1))
    done = 0
    deadline = time.monotonic() + seconds
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONNECTIONS)) as session:

        async def worker() -> None:
            nonlocal done
            while time.monotonic() < deadline:
                async with session.get(url) as resp:
                    await resp.read()
                    assert resp.status == 200
                done += 1

        await asyncio.gather(*(worker() for _ in range(CONNECTIONS)))
    return done


async def measure_http(name: str, service: ServiceProcess, path: str, backends: Backends) -> Result:
    url = service.url + path
    await load(url, 1)  # warm up (pool, caches, prepared statements)
    assert service.proc is not None
    db0 = await backends.cpu()
    cpu0, t0 = cpu_of(service.proc.pid), time.perf_counter()
    requests = await load(url, DURATION)
    elapsed = time.perf_counter() - t0
    cpu = cpu_of(service.proc.pid) - cpu0
    return Result(name, requests, elapsed, cpu, await backends.cpu() - db0)


async def measure_asyncpg(database_url: str) -> Result:
    """The listing statement in a bare loop: CONNECTIONS tasks over a POOL_SIZE pool."""
    statement = build_list_statement(ListQuery(), 20, 0)

    async def keep_session(_conn: asyncpg.Connection) -> None:
        """The service's read pool skips the per-release reset round trip: so does this."""

    pool = await asyncpg.create_pool(
        plain_database_url(database_url),
        min_size=POOL_SIZE,
        max_size=POOL_SIZE,
        reset=keep_session,
        server_settings={"application_name": "bench-bare-loop"},
    )
    backends = Backends(database_url, "bench-bare-loop")
    done = 0

    async def worker(deadline: float) -> None:
        nonlocal done
        while time.monotonic() < deadline:
            async with pool.acquire() as conn:
                rows = await conn.fetch(statement.sql, *statement.args)
            assert len(rows) == 20
            done += 1

    await asyncio.gather(*(worker(time.monotonic() + 1) for _ in range(CONNECTIONS)))
    done = 0
    db0 = await backends.cpu()
    cpu0, t0 = time.process_time(), time.perf_counter()
    deadline = time.monotonic() + DURATION
    await asyncio.gather(*(worker(deadline) for _ in range(CONNECTIONS)))
    elapsed = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    db = await backends.cpu() - db0
    await pool.close()
    return Result("bare asyncpg loop (same statement)", done, elapsed, cpu, db)


def service_env(infra: Any, database_url: str, prefix: str, cache: bool) -> dict[str, Any]:
    return {
        "DATABASE_URL": database_url,
        "REDIS_URL": infra.redis_url,
        "AMQP_URL": infra.amqp_url,
        "REDIS_PREFIX": prefix,
        "AMQP_PREFIX": prefix,
        "EMPORA_ENV": "test",
        "EMPORA_RUN_WORKERS": "false",
        "LOG_LEVEL": "WARNING",
        "DB_POOL_SIZE": POOL_SIZE,
        "PRODUCT_CACHE_ENABLED": "true" if cache else "false",
        "INTERNAL_API_TOKEN": uuid.uuid4().hex,
    }


async def main() -> int:
    started = time.monotonic()
    infra = discover_test_infra()
    prefix = f"bench{uuid.uuid4().hex[:6]}."
    name, url = await migrated_database(infra.admin_database_url, ("product",))
    services: list[ServiceProcess] = []
    try:
        count = await seed_catalog(ProductSettings(DATABASE_URL=url, REDIS_PREFIX=prefix))
        conn = await asyncpg.connect(plain_database_url(url))
        product_id = str(await conn.fetchval("SELECT id FROM product.product LIMIT 1"))
        await conn.execute("VACUUM ANALYZE product.product")
        await conn.close()
        print(
            f"demo catalog: {count} products; {CONNECTIONS} connections, pool {POOL_SIZE},"
            f" {DURATION}s per run, load by {'wrk' if shutil.which('wrk') else 'aiohttp'}"
        )
        backends = Backends(url, "empora-product")
        list_path, detail_path = "/api/products?limit=20", f"/api/products/{product_id}"
        search_path = "/api/products?limit=20&q=wireless%20headph"
        results: dict[str, Result] = {}
        # One service at a time, so the database backends measured are its own.
        for cache in (True, False):
            env = service_env(infra, url, f"{prefix}{int(cache)}.", cache=cache)
            service = ServiceProcess("product", env).start()
            services.append(service)
            await service.wait_ready()
            label = "cached" if cache else "uncached"
            results[f"list {label}"] = await measure_http(
                f"list, {label}", service, list_path, backends
            )
            results[f"detail {label}"] = await measure_http(
                f"detail, {label}", service, detail_path, backends
            )
            results[f"search {label}"] = await measure_http(
                f"search (q=wireless headph), {label}", service, search_path, backends
            )
            service.stop()
        results["bare"] = await measure_asyncpg(url)
    finally:
        for service in services:
            service.stop()
        await drop_database(infra.admin_database_url, name)
        await remove_redis_keys(infra.redis_url, prefix)
    print(f"\n{'':36} {'req/s':>7} {'req/CPU-s':>10} {'req/CPU-s':>10}")
    print(f"{'':36} {'':>7} {'(+ db)':>10} {'(process)':>10}")
    order = [
        "list cached",
        "list uncached",
        "bare",
        "detail cached",
        "detail uncached",
        "search cached",
        "search uncached",
    ]
    for key in order:
        r = results[key]
        print(f"{r.name:36} {r.rps:7.0f} {r.per_core:10.0f} {r.per_process_core:10.0f}")
    bare = results["bare"]
    ratios = {
        key: results[key].per_core / bare.per_core for key in ("list cached", "list uncached")
    }
    process_ratio = results["list cached"].per_process_core / bare.per_process_core
    print(
        f"\nlist endpoint per core vs the bare asyncpg loop (process + database CPU):"
        f" cached {ratios['list cached']:.0%}, uncached {ratios['list uncached']:.0%}"
        f" (goal >= {GOAL:.0%}); process CPU only: {process_ratio:.0%}"
    )
    print(
        "detail cached vs uncached:"
        f" {results['detail cached'].per_core / results['detail uncached'].per_core:.2f}x"
        f" per core, {results['detail cached'].rps / results['detail uncached'].rps:.2f}x req/s"
    )
    print(
        "search cached vs uncached:"
        f" {results['search cached'].per_core / results['search uncached'].per_core:.2f}x"
        f" per core, {results['search cached'].rps / results['search uncached'].rps:.2f}x req/s"
    )
    print(f"(finished in {time.monotonic() - started:.0f}s)")
    print("goal met" if ratios["list cached"] >= GOAL else "goal NOT met on this run")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
