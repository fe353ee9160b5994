"""Gateway overhead: ``GET /api/products/{id}`` direct, through the gateway, through nginx.

Every figure is printed beside its baseline from the same run, measured in interleaved rounds
(A, B, A, B, ...) so that drift on a shared machine hits both sides alike:

1. latency at concurrency 1: product service direct vs through the gateway (p50/p99 added);
2. throughput: the gateway vs nginx ``proxy_pass`` (keep-alive upstream) in front of the same
   product service, and (2b) the same in front of a minimal FastAPI app, where the proxy
   itself is the bottleneck;
3. throughput with JWT verification + rate limiting on (one repeated token) vs both off;
4. the JWT cache-miss case: every request a different token (an RS256 verify each time);
5. a ~33 KB page of full product details (``GET /api/products?limit=N``) through the gateway
   at 32 connections vs the product service direct, against the issue's goal: >= 20x the
   53 req/s a well-known Node.js peer served for a 33 KB product page (>= 1060 req/s).

Beside throughput it reports each proxy's CPU time per request (from /proc), the figure least
disturbed by other load on a shared machine.

The upstream is the real product service (its migrations, the demo catalog, its Redis cache)
when it starts here, else a minimal FastAPI stand-in. Load comes from ``wrk`` (Debian:
``apt-get install -y wrk nginx-light``). Everything runs on 127.0.0.1 and free ports, as child
processes this script starts and stops; the throwaway database is dropped at the end.

Standalone: ``uv run python bench/gateway.py [--quick]``; it stops by itself (~2-3 min).
A missed goal is reported, never a failure.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from empora_common.server import HTTP_PROTOCOL
from empora_common.testing.infra import (
    AppServer,
    discover_test_infra,
    drop_database,
    free_port,
    migrated_database,
    remove_redis_keys,
)
from empora_common.testing.tokens import TestSigner

ROOT = Path(__file__).resolve().parents[1]
INTERNAL_TOKEN = "bench-internal-token"


# ----------------------------------------------------------------------------- processes


@dataclass
class Proc:
    """A child process this benchmark started (stopped by PID, never by name)."""

    name: str
    cmd: list[str]
    env: dict[str, str]
    port: int
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Proc:
        handle = open(self.log, "ab")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(
            self.cmd, env=self.env, stdout=handle, stderr=subprocess.STDOUT, cwd=ROOT
        )
        handle.close()
        return self

    def wait_http(self, path: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        url = f"http://127.0.0.1:{self.port}{path}"
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited; see {self.log}")
            try:
                with urllib.request.urlopen(url, timeout=1) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"{self.name} not ready at {url}; see {self.log}")

    def cpu_seconds(self) -> float:
        """User + system CPU time of the process and its children (nginx's worker)."""
        if self.proc is None:
            return 0.0
        return _tree_cpu(self.proc.pid)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def _tree_cpu(pid: int) -> float:
    """CPU seconds of a process and its live descendants (Linux /proc)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return 0.0
    own = (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")
    return own + sum(_tree_cpu(int(child)) for child in children)


def uvicorn_cmd(app: str, port: int, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-access-log",
        "--log-level",
        "warning",
        "--loop",
        "uvloop",
        "--http",
        HTTP_PROTOCOL,  # as the services run in production (one write per response)
        *extra,
    ]


# ----------------------------------------------------------------------------- wrk


@dataclass
class WrkResult:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx: int
    errors: int
    cpu_us_per_request: float = 0.0


_UNIT = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    match = re.match(r"([\d.]+)(us|ms|s)", text)
    if match is None:
        raise ValueError(text)
    return float(match.group(1)) * _UNIT[match.group(2)]


def run_wrk(
    url: str,
    *,
    connections: int,
    seconds: float,
    threads: int = 1,
    script: Path | None = None,
    headers: dict[str, str] | None = None,
    measured: Proc | None = None,
) -> WrkResult:
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for name, value in (headers or {}).items():
        cmd += ["-H", f"{name}: {value}"]
    if script is not None:
        cmd += ["-s", str(script)]
    cmd.append(url)
    cpu_before = measured.cpu_seconds() if measured is not None else 0.0
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    cpu = (measured.cpu_seconds() - cpu_before) if measured is not None else 0.0
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    non_2xx_match = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors_match = re.search(r"Socket errors:.*?(\d+).*?(\d+).*?(\d+).*?(\d+)", out)
    errors = sum(int(g) for g in errors_match.groups()) if errors_match else 0
    return WrkResult(
        rps=rps,
        p50_ms=p50,
        p99_ms=p99,
        requests=requests,
        non_2xx=int(non_2xx_match.group(1)) if non_2xx_match else 0,
        errors=errors,
        cpu_us_per_request=(cpu / requests * 1e6) if measured is not None and requests else 0.0,
    )


@dataclass
class Series:
    """Interleaved rounds of one configuration."""

    label: str
    runs: list[WrkResult] = field(default_factory=list)

    def median(self, attr: str) -> float:
        return statistics.median(getattr(r, attr) for r in self.runs)

    def bad(self) -> int:
        return sum(r.non_2xx + r.errors for r in self.runs)


async def wrk(url: str, **kwargs: Any) -> WrkResult:
    """run_wrk in a thread: this process keeps serving the JWKS the gateways may fetch."""
    return await asyncio.to_thread(run_wrk, url, **kwargs)


async def interleave(
    configs: list[tuple[Series, dict[str, Any]]], rounds: int, **common: Any
) -> None:
    for _ in range(rounds):
        for series, kwargs in configs:
            series.runs.append(await wrk(**{**common, **kwargs}))


# ----------------------------------------------------------------------------- set-up


NGINX_CONF = """
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
    log_format json escape=json '{{"time":"$time_iso8601","method":"$request_method",'
                                '"path":"$uri","status":$status,"client_ip":"$remote_addr",'
                                '"duration":$request_time}}';
    # Buffered like the gateway's access log (it writes its lines in batches too).
    access_log {dir}/access.log json buffer=64k flush=1s;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    upstream product {{
        server 127.0.0.1:{upstream};
        keepalive 256;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://product;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header X-Forwarded-For $remote_addr;
        }}
    }}
}}
"""

FALLBACK_UPSTREAM = '''
"""A minimal product-shaped FastAPI upstream (used when the product service cannot start)."""
import uuid
from fastapi import FastAPI

PRODUCT = {
    "id": str(uuid.UUID(int=1)), "sku": "BENCH-1", "slug": "bench-product", "name": "Bench",
    "description": "A product", "price": {"amount": 1999, "currency": "USD"},
    "category_id": None, "images": [], "attributes": {"color": "red"},
    "stock": {"available": 12, "in_stock": True}, "is_active": True,
    "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
}

def create_app() -> FastAPI:
    app = FastAPI()

    @app.get("/api/products/{id_or_slug}")
    async def get_product(id_or_slug: str) -> dict:
        return PRODUCT

    @app.get("/health")
    async def health() -> dict:
        return {"status": "ok", "checks": {}}

    return app
'''


STANDIN_PATH = f"/api/products/{uuid.UUID(int=1)}"


@dataclass
class Platform:
    workdir: Path
    env: dict[str, str]
    procs: list[Proc] = field(default_factory=list)
    product: Proc | None = None
    product_path: str = ""
    upstream_kind: str = ""
    db_name: str | None = None
    admin_url: str = ""

    def add(self, proc: Proc) -> Proc:
        self.procs.append(proc.start())
        return proc

    def stop(self) -> None:
        for proc in reversed(self.procs):
            proc.stop()


async def start_standin(platform: Platform) -> Proc:
    """The minimal product-shaped FastAPI app (the proxy-bound comparison's upstream)."""
    module = platform.workdir / "bench_upstream.py"
    module.write_text(FALLBACK_UPSTREAM)
    port = free_port()
    proc = platform.add(
        Proc(
            "stand-in",
            uvicorn_cmd("bench_upstream:create_app", port, "--app-dir", str(platform.workdir)),
            {**os.environ},
            port,
            platform.workdir / "standin.log",
        )
    )
    await asyncio.to_thread(proc.wait_http, "/health")
    return proc


async def start_product(platform: Platform, infra: Any, standin: Proc) -> None:
    """The real product service on a migrated, seeded database; else the stand-in."""
    port = free_port()
    try:
        from empora_product.seed.loader import seed_catalog
        from empora_product.settings import ProductSettings

        name, url = await migrated_database(infra.admin_database_url, services=("product",))
        platform.db_name, platform.admin_url = name, infra.admin_database_url
        env = {**platform.env, "DATABASE_URL": url, "PRODUCT_PORT": str(port)}
        await seed_catalog(ProductSettings(**env))  # type: ignore[arg-type]
        proc = platform.add(
            Proc(
                "product",
                uvicorn_cmd("empora_product.app:create_app", port),
                {**os.environ, **env},
                port,
                platform.workdir / "product.log",
            )
        )
        await asyncio.to_thread(proc.wait_http, "/health/live")
        product_id = await asyncio.to_thread(first_product_id, port)
        platform.product, platform.product_path = proc, f"/api/products/{product_id}"
        platform.upstream_kind = "the real product service (PostgreSQL + Redis cache)"
    except Exception as exc:  # the product service may not work yet: measure the proxy anyway
        print(f"  product service unavailable ({type(exc).__name__}: {exc}); using the stand-in")
        platform.product, platform.product_path = standin, STANDIN_PATH
        platform.upstream_kind = "a minimal FastAPI stand-in"


def first_product_id(port: int) -> str:
    import json

    url = f"http://127.0.0.1:{port}/api/products?limit=1"
    with urllib.request.urlopen(url, timeout=5) as resp:
        body = json.loads(resp.read())
    return str(body["data"][0]["id"])


PAGE_TARGET_BYTES = 33_000  # the Node.js peer's product page
PAGE_PEER_RPS = 53.0
PAGE_GOAL_FACTOR = 20.0
PAGE_CONNECTIONS = 32


def _body_size(port: int, path: str) -> tuple[int, int]:
    """(bytes, items) of one JSON list page fetched from 127.0.0.1:port."""
    import json

    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as resp:
        raw = resp.read()
    return len(raw), len(json.loads(raw)["data"])


def page_limit_for(port: int, target: int = PAGE_TARGET_BYTES) -> tuple[int, int]:
    """The ``limit`` whose ``GET /api/products`` page is closest to ``target`` bytes, and that
    page's measured size. Estimated from the largest page (contract: limit <= 100), then the
    chosen page is fetched once and measured."""
    size, items = _body_size(port, "/api/products?limit=100")
    if items == 0:
        raise RuntimeError("the catalog is empty")
    per_item = size / items
    limit = max(1, min(items, round(target / per_item)))
    size, _ = _body_size(port, f"/api/products?limit={limit}")
    return limit, size


def start_gateway(platform: Platform, name: str, upstream_port: int, **env: str) -> Proc:
    """``python -m empora_gateway`` (its production settings: uvloop, httptools with one write
    per response, INFO access log) in front of ``upstream_port``."""
    port = free_port()
    gateway_env = {
        **os.environ,
        **platform.env,
        "LOG_LEVEL": "INFO",
        "GATEWAY_PORT": str(port),
        "PRODUCT_URL": f"http://127.0.0.1:{upstream_port}",
        # Limits high enough never to refuse: this measures the limiter's cost, not its effect.
        "RATE_LIMIT_DEFAULT_BURST": "1000000000",
        "RATE_LIMIT_DEFAULT_REFILL": "1000000000",
        **env,
    }
    return platform.add(
        Proc(
            name,
            [sys.executable, "-m", "empora_gateway"],
            gateway_env,
            port,
            platform.workdir / f"{name}.log",
        )
    )


def start_nginx(platform: Platform, name: str, upstream_port: int) -> Proc | None:
    binary = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if binary is None:
        print("  nginx not installed (apt-get install -y nginx-light): skipping that baseline")
        return None
    port = free_port()
    conf_dir = platform.workdir / name
    conf_dir.mkdir()
    conf = conf_dir / "nginx.conf"
    conf.write_text(NGINX_CONF.format(dir=conf_dir, port=port, upstream=upstream_port))
    return platform.add(
        Proc(
            name,
            [binary, "-c", str(conf), "-p", str(conf_dir), "-e", str(conf_dir / "nginx-error.log")],
            dict(os.environ),
            port,
            platform.workdir / f"{name}.log",
        )
    )


def token_script(path: Path, tokens: list[str]) -> Path:
    """A wrk script sending each token once, in order (wraps around if it runs out)."""
    lua = path / "tokens.lua"
    body = ",\n".join(f'"{t}"' for t in tokens)
    lua.write_text(
        textwrap.dedent(
            """
            local tokens = {
            %s
            }
            local i = 0
            request = function()
              i = i + 1
              local t = tokens[((i - 1) %% #tokens) + 1]
              return wrk.format("GET", nil, {["Authorization"] = "Bearer " .. t})
            end
            """
        )
        % body
    )
    return lua


# ----------------------------------------------------------------------------- report


def ratio_line(label: str, value: float, base: float, unit: str, goal: str = "") -> str:
    ratio = value / base if base else float("nan")
    return (
        f"  {label:<46} {value:>10.2f} {unit:<6} vs {base:>10.2f} {unit:<6} = {ratio:5.2f}x  {goal}"
    )


@contextlib.contextmanager
def workdir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="empora-bench-gw-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def report_pair(
    title: str, value: Series, base: Series, attr: str, unit: str, goal: str = ""
) -> None:
    print(ratio_line(title, value.median(attr), base.median(attr), unit, goal))


async def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs (a smoke test)")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed: apt-get install -y wrk nginx-light")
        return 1
    rounds, seconds, latency_seconds = (1, 2, 2) if args.quick else (5, 3, 3)
    page_rounds = 1 if args.quick else 4  # section 5: ~2 x 4 x 3s + warm-up
    conc = 64

    infra = discover_test_infra()
    signer = TestSigner()
    jwks = await AppServer(signer.jwks_app()).start()
    prefix = f"bench{uuid.uuid4().hex[:6]}."
    started = time.monotonic()
    with workdir() as path:
        platform = Platform(
            workdir=path,
            env={
                "REDIS_URL": infra.redis_url,
                "REDIS_PREFIX": prefix,
                "AMQP_URL": infra.amqp_url,
                "AMQP_PREFIX": prefix,
                "AUTH_URL": jwks.url,
                "INTERNAL_API_TOKEN": INTERNAL_TOKEN,
                "EMPORA_ENV": "test",
                "EMPORA_RUN_WORKERS": "false",
                "LOG_LEVEL": "WARNING",
            },
        )
        try:
            print("setting up ...")
            standin = await start_standin(platform)
            await start_product(platform, infra, standin)
            assert platform.product is not None
            upstream = platform.product
            target = platform.product_path
            plain = start_gateway(
                platform,
                "gateway-plain",
                upstream.port,
                GATEWAY_VERIFY_TOKENS="false",
                RATE_LIMIT_ENABLED="false",
            )
            guarded = start_gateway(platform, "gateway-guarded", upstream.port)
            nginx = start_nginx(platform, "nginx", upstream.port)
            light = start_gateway(
                platform,
                "gateway-light",
                standin.port,
                GATEWAY_VERIFY_TOKENS="false",
                RATE_LIMIT_ENABLED="false",
            )
            nginx_light = start_nginx(platform, "nginx-light", standin.port)
            for proc in (plain, guarded, light):
                await asyncio.to_thread(proc.wait_http, "/health/live")
            for proc, path_ in ((nginx, target), (nginx_light, STANDIN_PATH)):
                if proc is not None:
                    await asyncio.to_thread(proc.wait_http, path_)

            def url(proc: Proc, path_: str = target) -> str:
                return f"http://127.0.0.1:{proc.port}{path_}"

            token = signer.token(email_verified=True)
            auth = {"Authorization": f"Bearer {token}"}
            warm = [(url(upstream), None), (url(plain), None), (url(guarded), auth)]
            warm.append((url(light, STANDIN_PATH), None))
            warm += [(url(p_), None) for p_ in (nginx,) if p_ is not None]
            warm += [(url(p_, STANDIN_PATH), None) for p_ in (nginx_light,) if p_ is not None]
            for address, hdrs in warm:  # pools, caches, lazy imports, the JWKS fetch
                await wrk(address, connections=8, seconds=1, headers=hdrs)

            print(f"upstream: {platform.upstream_kind}; GET {target}")
            print(f"{rounds} interleaved rounds of {seconds}s (latency runs {latency_seconds}s)\n")

            # 1. Latency at concurrency 1.
            direct_c1, plain_c1 = Series("c=1 direct"), Series("c=1 gateway")
            await interleave(
                [
                    (direct_c1, {"url": url(upstream)}),
                    (plain_c1, {"url": url(plain), "measured": plain}),
                ],
                rounds,
                connections=1,
                seconds=latency_seconds,
            )
            # 2. Throughput in front of the product service: gateway vs nginx (and direct).
            direct_tp, plain_tp, nginx_tp = (Series("direct"), Series("gateway"), Series("nginx"))
            configs: list[tuple[Series, dict[str, Any]]] = [
                (direct_tp, {"url": url(upstream)}),
                (plain_tp, {"url": url(plain), "measured": plain}),
            ]
            if nginx is not None:
                configs.append((nginx_tp, {"url": url(nginx), "measured": nginx}))
            await interleave(configs, rounds, connections=conc, seconds=seconds)
            # 2b. Proxy-bound: the same comparison in front of the minimal stand-in.
            light_direct, light_tp, light_nginx = (
                Series("stand-in direct"),
                Series("stand-in gateway"),
                Series("stand-in nginx"),
            )
            configs = [
                (light_direct, {"url": url(standin, STANDIN_PATH)}),
                (light_tp, {"url": url(light, STANDIN_PATH), "measured": light}),
            ]
            if nginx_light is not None:
                configs.append(
                    (light_nginx, {"url": url(nginx_light, STANDIN_PATH), "measured": nginx_light})
                )
            await interleave(configs, rounds, connections=conc, seconds=seconds)
            # 3. JWT + rate limit on (repeat token) vs off.
            guarded_tp, plain_auth_tp = Series("JWT+RL on"), Series("JWT+RL off")
            await interleave(
                [
                    (guarded_tp, {"url": url(guarded), "headers": auth, "measured": guarded}),
                    (plain_auth_tp, {"url": url(plain), "headers": auth, "measured": plain}),
                ],
                rounds,
                connections=conc,
                seconds=seconds,
            )
            # 4. JWT cache miss: a different token per request (each one verified).
            miss_seconds = 2 if args.quick else 3
            count = min(max(int(guarded_tp.median("rps") * miss_seconds) + 500, 1000), 12_000)
            t0 = time.perf_counter()
            tokens = [signer.token() for _ in range(count)]
            sign_s = time.perf_counter() - t0
            script = token_script(path, tokens)
            miss = await wrk(
                url(guarded),
                connections=conc,
                seconds=miss_seconds,
                script=script,
                measured=guarded,
            )
            hit = await wrk(
                url(guarded),
                connections=conc,
                seconds=miss_seconds,
                headers=auth,
                measured=guarded,
            )
            # 5. A ~33 KB page of full product details through the gateway (production
            #    settings: token checks and rate limiting on; anonymous, as a shopper browses).
            page_direct, page_gw = Series("page direct"), Series("page gateway")
            page_limit = page_bytes = 0
            if upstream is standin:
                print("  5. skipped: the stand-in has no product list route")
            else:
                page_limit, page_bytes = await asyncio.to_thread(page_limit_for, upstream.port)
                page_path = f"/api/products?limit={page_limit}"
                for address in (url(upstream, page_path), url(guarded, page_path)):
                    await wrk(address, connections=PAGE_CONNECTIONS, seconds=1)
                await interleave(
                    [
                        (page_direct, {"url": url(upstream, page_path)}),
                        (page_gw, {"url": url(guarded, page_path), "measured": guarded}),
                    ],
                    page_rounds,
                    connections=PAGE_CONNECTIONS,
                    seconds=seconds,
                )
        finally:
            platform.stop()
            await jwks.stop()
            if platform.db_name is not None:
                await drop_database(platform.admin_url, platform.db_name)
            await remove_redis_keys(infra.redis_url, prefix)

    all_series = (
        direct_c1,
        plain_c1,
        direct_tp,
        plain_tp,
        nginx_tp,
        light_direct,
        light_tp,
        light_nginx,
        guarded_tp,
        plain_auth_tp,
        page_direct,
        page_gw,
    )
    bad = sum(s_.bad() for s_ in all_series) + miss.non_2xx + hit.non_2xx
    # Which runs had them: non-2xx answers, and socket errors (wrk counts a request that took
    # over its 2 s timeout as one, which a loaded upstream alone can cause).
    bad_detail = ", ".join(
        f"{s_.label}: {sum(r.non_2xx for r in s_.runs)} non-2xx, "
        f"{sum(r.errors for r in s_.runs)} socket"
        for s_ in all_series
        if s_.bad()
    )
    add50 = plain_c1.median("p50_ms") - direct_c1.median("p50_ms")
    add99 = plain_c1.median("p99_ms") - direct_c1.median("p99_ms")
    print("1. latency at concurrency 1 (median of rounds)")
    report_pair("p50 through the gateway vs direct", plain_c1, direct_c1, "p50_ms", "ms")
    report_pair("p99 through the gateway vs direct", plain_c1, direct_c1, "p99_ms", "ms")
    print(
        f"  added by the gateway: p50 {add50:+.3f} ms (goal <= 0.35, ambitious <= 0.2), "
        f"p99 {add99:+.3f} ms (goal <= 1)"
    )
    print(f"  gateway CPU per request at c=1: {plain_c1.median('cpu_us_per_request'):.0f} us\n")

    print(f"2. throughput at {conc} connections in front of the product service (req/s)")
    if nginx is not None:
        report_pair(
            "gateway vs nginx proxy_pass", plain_tp, nginx_tp, "rps", "req/s", "(goal >= 0.80x)"
        )
    report_pair("gateway vs direct", plain_tp, direct_tp, "rps", "req/s")
    if nginx is not None:
        report_pair("nginx vs direct", nginx_tp, direct_tp, "rps", "req/s")
        report_pair(
            "CPU per request: gateway vs nginx", plain_tp, nginx_tp, "cpu_us_per_request", "us"
        )
    print()
    print(f"2b. proxy-bound: the same at {conc} connections in front of a minimal FastAPI app")
    if nginx_light is not None:
        report_pair("gateway vs nginx proxy_pass", light_tp, light_nginx, "rps", "req/s")
    report_pair("gateway vs direct", light_tp, light_direct, "rps", "req/s")
    if nginx_light is not None:
        report_pair(
            "CPU per request: gateway vs nginx", light_tp, light_nginx, "cpu_us_per_request", "us"
        )
    print()
    print("3. JWT verification + rate limiting on (one repeated token) vs both off")
    report_pair(
        "throughput on vs off", guarded_tp, plain_auth_tp, "rps", "req/s", "(goal >= 0.90x)"
    )
    report_pair("CPU per request on vs off", guarded_tp, plain_auth_tp, "cpu_us_per_request", "us")
    print()
    print("4. JWT cache miss (a new token per request) vs the repeated token, same gateway")
    print(ratio_line("throughput miss vs hit", miss.rps, hit.rps, "req/s"))
    print(
        ratio_line(
            "CPU per request miss vs hit", miss.cpu_us_per_request, hit.cpu_us_per_request, "us"
        )
    )
    wrapped = miss.requests > len(tokens)
    print(
        f"  {len(tokens)} distinct tokens for {miss.requests} requests"
        + (" (ran out: the excess were cache hits)" if wrapped else "")
        + f"; signing them took {sign_s:.1f}s\n"
    )
    print(
        f"5. a page of full product details at {PAGE_CONNECTIONS} connections "
        "(gateway with token checks + rate limiting on, anonymous)"
    )
    if page_gw.runs:
        page_rps = page_gw.median("rps")
        goal_rps = PAGE_GOAL_FACTOR * PAGE_PEER_RPS
        print(
            f"  GET /api/products?limit={page_limit}: {page_bytes} bytes "
            f"({page_bytes / 1000:.1f} KB; target ~{PAGE_TARGET_BYTES / 1000:.0f} KB)"
        )
        report_pair("gateway vs direct", page_gw, page_direct, "rps", "req/s")
        report_pair("p50 gateway vs direct", page_gw, page_direct, "p50_ms", "ms")
        report_pair("p99 gateway vs direct", page_gw, page_direct, "p99_ms", "ms")
        print(f"  gateway CPU per request: {page_gw.median('cpu_us_per_request'):.0f} us")
        print(
            f"  goal >= {PAGE_GOAL_FACTOR:.0f}x {PAGE_PEER_RPS:.0f} = {goal_rps:.0f} req/s "
            f"through the gateway: {page_rps:.0f} req/s = {page_rps / PAGE_PEER_RPS:.1f}x "
            f"the Node.js peer -> {'met' if page_rps >= goal_rps else 'MISSED'}\n"
        )
    else:
        print("  not measured (no real product service)\n")
    if bad:
        print(f"WARNING: {bad} non-2xx answers or socket errors during the runs ({bad_detail})")
    print(f"done in {time.monotonic() - started:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
