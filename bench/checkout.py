"""Checkout: latency of one whole checkout, orders/s at concurrency 1, 4 and 16, beside
pgbench's tpcb-like TPS on the same PostgreSQL in the same run.

A checkout here is ``POST /api/orders`` of a one-line cart: claim the Idempotency-Key and write
the pending order, reserve the stock (product service), capture (the built-in test provider),
commit ``paid`` with its events, commit the reservation and subtract the cart — everything the
buyer waits for. Each checkout is a different user with a cart filled beforehand (the cart
writes are not timed), buying one of 8 products. Requests go through the gateway when it
starts, else straight to the order service (the latency is shown both ways when both work).

Everything runs on 127.0.0.1 and free ports: a throwaway database built by the real migrations,
the product, cart, order (and gateway) services as child processes this script starts and stops
by PID, a JWKS server for the test signer; ``pgbench -i`` goes into another throwaway database
that is dropped at the end. Goals: median latency ≤ 100 ms; orders/s ≥ 10% of pgbench's TPS.

Standalone: ``uv run python bench/checkout.py [--quick]``; it stops by itself (≤ 2 min).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from empora_common.server import HTTP_PROTOCOL
from empora_common.testing.infra import (
    AppServer,
    create_database,
    discover_test_infra,
    drop_database,
    free_port,
    migrated_database,
    remove_amqp_names,
    remove_redis_keys,
    unique_prefix,
)
from empora_common.testing.tokens import TestSigner

ROOT = Path(__file__).resolve().parents[1]
INTERNAL_TOKEN = "bench-internal-token"
ADDRESS = {
    "name": "Bench Buyer",
    "line1": "1 Load Street",
    "city": "Testville",
    "postal_code": "12345",
    "country": "US",
}
# The whole run stops by itself well within this budget.
DEADLINE_SECONDS = 110.0
PRODUCTS = 8


@dataclass
class Proc:
    """A child process this benchmark started (stopped by its PID, never by name)."""

    name: str
    module: str
    env: dict[str, str]
    port: int
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Proc:
        cmd = [
            sys.executable, "-m", "uvicorn", self.module, "--factory",
            "--host", "127.0.0.1", "--port", str(self.port), "--no-access-log",
            "--log-level", "warning", "--loop", "uvloop", "--http", HTTP_PROTOCOL,
            "--no-proxy-headers",
        ]  # fmt: skip
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                cmd, env=self.env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT
            )
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 45.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited; see {self.log}")
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(self.url + "/health/live", timeout=1) as resp,  # noqa: S310
            ):
                if resp.status == 200:
                    return
            time.sleep(0.1)
        raise TimeoutError(f"{self.name} not ready; see {self.log}")

    def cpu_seconds(self) -> float:
        """User + system CPU time of the process so far (Linux /proc)."""
        if self.proc is None or self.proc.poll() is not None:
            return 0.0
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def infrastructure_cpu() -> dict[str, float]:
    """CPU seconds so far of the machine's PostgreSQL and RabbitMQ processes (Linux /proc;
    whatever this user may read), to show what a checkout costs beyond the services."""
    totals = {"postgres": 0.0, "rabbitmq": 0.0}
    names = {"postgres": "postgres", "beam.smp": "rabbitmq"}
    tick = os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # gone meanwhile
            continue
        comm = text[text.index("(") + 1 : text.rindex(")")]
        if comm in names:
            fields = text.rsplit(")", 1)[1].split()
            # utime + stime, and cutime + cstime: a backend that exits during the run moves
            # its CPU into the postmaster's children times, so the sum never goes back.
            used = int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])
            totals[names[comm]] += used / tick
    return totals


@dataclass
class Bench:
    env: dict[str, str]
    workdir: Path
    signer: TestSigner
    procs: list[Proc] = field(default_factory=list)

    def start(self, name: str, module: str, **env: str) -> Proc:
        port = free_port()
        proc = Proc(
            name, module, {**os.environ, **self.env, **env}, port, self.workdir / f"{name}.log"
        )
        self.procs.append(proc.start())
        return proc

    def stop(self) -> None:
        for proc in reversed(self.procs):
            proc.stop()


@dataclass
class Buyer:
    headers: dict[str, str]
    product_id: str


async def prepare_buyers(
    http: aiohttp.ClientSession, bench: Bench, cart_url: str, products: list[str], count: int
) -> list[Buyer]:
    """``count`` users, each with a one-line cart (concurrently; not part of the timing)."""
    buyers = [
        Buyer(bench.signer.headers(uuid.uuid4()), products[i % len(products)]) for i in range(count)
    ]
    gate = asyncio.Semaphore(32)

    async def fill(buyer: Buyer) -> None:
        async with (
            gate,
            http.post(
                f"{cart_url}/api/cart/items",
                json={"product_id": buyer.product_id, "quantity": 1},
                headers=buyer.headers,
            ) as resp,
        ):
            if resp.status not in (200, 201):
                raise RuntimeError(f"cart add failed: {resp.status} {await resp.text()}")

    await asyncio.gather(*(fill(b) for b in buyers))
    return buyers


async def checkout(http: aiohttp.ClientSession, url: str, buyer: Buyer) -> tuple[int, float]:
    started = time.perf_counter()
    async with http.post(
        f"{url}/api/orders",
        json={"shipping_address": ADDRESS, "payment": {"token": "tok_visa"}},
        headers={**buyer.headers, "Idempotency-Key": uuid.uuid4().hex},
    ) as resp:
        await resp.read()
        return resp.status, time.perf_counter() - started


async def latency(
    http: aiohttp.ClientSession, url: str, buyers: list[Buyer]
) -> tuple[float, float, int]:
    """Median and p95 (ms) of sequential checkouts, and how many failed."""
    times: list[float] = []
    failed = 0
    for buyer in buyers:
        status, seconds = await checkout(http, url, buyer)
        if status == 201:
            times.append(seconds * 1000)
        else:
            failed += 1
    times.sort()
    p95 = times[min(len(times) - 1, int(len(times) * 0.95))] if times else float("nan")
    return (statistics.median(times) if times else float("nan")), p95, failed


async def throughput(
    http: aiohttp.ClientSession, url: str, buyers: list[Buyer], concurrency: int, seconds: float
) -> tuple[float, int, int]:
    """Orders/s with ``concurrency`` checkouts in flight for at most ``seconds`` (or until the
    prepared buyers run out); (rate, paid, failed)."""
    queue = list(reversed(buyers))
    paid = failed = 0
    stop_at = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal paid, failed
        while queue and time.perf_counter() < stop_at:
            status, _ = await checkout(http, url, queue.pop())
            if status == 201:
                paid += 1
            else:
                failed += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    return paid / elapsed, paid, failed


def pgbench_tps(admin_url: str, seconds: int) -> tuple[float, str]:
    """tpcb-like TPS of ``pgbench -c 4 -T seconds`` on a throwaway database of the same server."""
    binary = shutil.which("pgbench") or next(
        iter(sorted(Path("/usr/lib/postgresql").glob("*/bin/pgbench"))), None
    )
    if binary is None:
        return float("nan"), "pgbench not installed (apt-get install postgresql-client)"
    parts = urlsplit(admin_url)
    name = f"bench_pgbench_{uuid.uuid4().hex[:8]}"
    asyncio.run(create_database(admin_url, name))
    env = {**os.environ}
    if parts.password:
        env["PGPASSWORD"] = parts.password
    base = [
        "-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 5432),
        "-U", parts.username or "postgres",
    ]  # fmt: skip
    try:
        subprocess.run(
            [str(binary), "-i", "-q", *base, name], env=env, check=True, capture_output=True
        )
        out = subprocess.run(
            [str(binary), "-c", "4", "-j", "2", "-T", str(seconds), *base, name],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    finally:
        asyncio.run(drop_database(admin_url, name))
    for line in out.splitlines():
        if line.startswith("tps ="):
            return float(line.split()[2]), "tpcb-like, scale 1, -c 4 -j 2"
    return float("nan"), "pgbench printed no tps line"


async def run(args: argparse.Namespace) -> None:
    started = time.monotonic()
    infra = discover_test_infra()
    signer = TestSigner()
    jwks = await AppServer(signer.jwks_app()).start()
    db_name, db_url = await migrated_database(infra.admin_database_url, ("product", "order"))
    prefix = f"bench{unique_prefix()}"
    workdir = Path(tempfile.mkdtemp(prefix="empora-bench-checkout-"))
    bench = Bench(
        env={
            "DATABASE_URL": db_url,
            "REDIS_URL": infra.redis_url,
            "AMQP_URL": infra.amqp_url,
            "AMQP_PREFIX": prefix,
            "REDIS_PREFIX": prefix,
            "AUTH_URL": jwks.url,
            "INTERNAL_API_TOKEN": INTERNAL_TOKEN,
            "LOG_LEVEL": "WARNING",
            "DB_POOL_SIZE": "10",
            "RATE_LIMIT_DEFAULT_BURST": "1000000000",
            "RATE_LIMIT_DEFAULT_REFILL": "1000000000",
        },
        workdir=workdir,
        signer=signer,
    )
    try:
        product = bench.start("product", "empora_product.app:create_app")
        await asyncio.to_thread(product.wait_ready)
        bench.env["PRODUCT_URL"] = product.url
        cart = bench.start("cart", "empora_cart.app:create_app")
        await asyncio.to_thread(cart.wait_ready)
        bench.env["CART_URL"] = cart.url
        order = bench.start("order", "empora_order.app:create_app")
        await asyncio.to_thread(order.wait_ready)
        bench.env["ORDER_URL"] = order.url
        gateway_url: str | None = None
        try:
            gateway = bench.start("gateway", "empora_gateway.app:create_app")
            await asyncio.to_thread(gateway.wait_ready, 20.0)
            gateway_url = gateway.url
        except Exception as exc:
            print(
                f"  gateway unavailable ({type(exc).__name__}); measuring the order service direct"
            )
        print(f"services up in {time.monotonic() - started:.1f}s (logs in {workdir})")

        connector = aiohttp.TCPConnector(limit=64)
        timeout = aiohttp.ClientTimeout(total=30)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
            admin = signer.headers(roles=["admin"])
            # Several products, so that buyers do not all queue on one stock row (a flash
            # sale on one item is the concurrency tests' business, not this benchmark's).
            product_ids: list[str] = []
            for n in range(PRODUCTS):
                async with http.post(
                    f"{product.url}/api/products",
                    json={
                        "sku": f"BENCH-{n}",
                        "name": f"Bench item {n}",
                        "price": 1999,
                        "stock": 10**8,
                    },
                    headers=admin,
                ) as resp:
                    body = await resp.json()
                    if resp.status != 201:
                        raise RuntimeError(f"cannot create a product: {resp.status} {body}")
                    product_ids.append(str(body["id"]))

            target = gateway_url or order.url
            via = "gateway" if gateway_url else "order service (direct)"
            n_latency = 20 if args.quick else 40
            # Warm-up: connection pools, JWKS fetches, prepared statements.
            warm = await prepare_buyers(http, bench, cart.url, product_ids, 10)
            for buyer in warm:
                await checkout(http, target, buyer)
            buyers = await prepare_buyers(http, bench, cart.url, product_ids, n_latency)
            p50, p95, failed = await latency(http, target, buyers)
            print(f"\nlatency of one checkout via the {via}, concurrency 1, n={n_latency}:")
            print(f"  median {p50:.1f} ms   p95 {p95:.1f} ms   failed {failed}   (goal ≤ 100 ms)")
            if gateway_url:
                direct = await prepare_buyers(http, bench, cart.url, product_ids, n_latency)
                d50, d95, _ = await latency(http, order.url, direct)
                print(f"  direct to the order service: median {d50:.1f} ms   p95 {d95:.1f} ms")

            rates: dict[int, float] = {}
            seconds = 3.0 if args.quick else 6.0
            print(f"\ncheckout throughput via the {via}, {seconds:.0f} s per level:")
            for concurrency in (1, 4, 16):
                if time.monotonic() - started > DEADLINE_SECONDS - 30:
                    print(f"  concurrency {concurrency:>2}: skipped (time budget)")
                    continue
                # Enough prepared carts for the level, judged from the measured latency.
                expected = min(concurrency, 4) * 1000 / max(p50, 1.0) * seconds * 2
                count = max(20, min(600, int(expected) + concurrency))
                group = await prepare_buyers(http, bench, cart.url, product_ids, count)
                cpu_before = {p.name: p.cpu_seconds() for p in bench.procs}
                infra_before = infrastructure_cpu()
                rate, paid, failed = await throughput(http, target, group, concurrency, seconds)
                cpu = {
                    p.name: (p.cpu_seconds() - cpu_before[p.name]) * 1000 / max(paid, 1)
                    for p in bench.procs
                }
                cpu.update(
                    (name, (seconds_ - infra_before[name]) * 1000 / max(paid, 1))
                    for name, seconds_ in infrastructure_cpu().items()
                )
                rates[concurrency] = rate
                print(
                    f"  concurrency {concurrency:>2}: {rate:7.1f} orders/s"
                    f"   ({paid} paid, {failed} failed)   CPU ms per order: "
                    + ", ".join(f"{name} {ms:.1f}" for name, ms in cpu.items())
                )
    finally:
        bench.stop()
        await jwks.stop()
        await drop_database(infra.admin_database_url, db_name)
        await remove_amqp_names(infra.amqp_url, prefix)
        await remove_redis_keys(infra.redis_url, prefix)

    tps, how = await asyncio.to_thread(
        pgbench_tps, infra.admin_database_url, 5 if args.quick else 10
    )
    print(f"\npgbench on the same PostgreSQL ({how}): {tps:.0f} TPS")
    for concurrency, rate in rates.items():
        print(
            f"  orders/s at concurrency {concurrency:>2} ÷ pgbench TPS = {rate / tps:6.1%}"
            "   (goal ≥ 10%)"
        )
    if rates:
        print(f"  median checkout latency vs goal: {p50:.1f} ms / 100 ms = {p50 / 100:.2f}")
    print(f"\ndone in {time.monotonic() - started:.1f}s")


def _out_of_time(*_: Any) -> None:
    raise TimeoutError("the benchmark ran past its time budget")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer checkouts (~1 min)")
    args = parser.parse_args()
    # A hard stop even if something hangs: the benchmark never outlives its budget.
    signal.signal(signal.SIGALRM, _out_of_time)
    signal.alarm(int(DEADLINE_SECONDS) + 30)
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
