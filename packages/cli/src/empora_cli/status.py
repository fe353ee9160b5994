"""``empora status``: every service and server, with its health, in one table."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from rich.table import Table

from empora_cli.config import PlatformConfig
from empora_cli.state import RunState
from empora_common.constants import ALL_SERVICES
from empora_common.infra import (
    PROBES,
    STANDARD_URLS,
    URL_NAMES,
    mask_url,
    port_open,
    recorded_servers,
    recorded_urls,
)

OK_STYLES = {"ok": "green", "up": "green", "degraded": "yellow"}


@dataclass(frozen=True)
class Row:
    """One line of the table."""

    kind: str
    name: str
    where: str
    pid: str
    status: str
    details: str


def fetch_json(url: str, timeout: float) -> tuple[int, dict[str, Any]]:
    """GET a JSON document: (status, body); (0, {}) when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - our own URL
            body = json.loads(resp.read() or b"{}")
            return resp.status, body if isinstance(body, dict) else {}
    except urllib.error.HTTPError as exc:
        try:
            body = json.loads(exc.read() or b"{}")
        except ValueError:
            body = {}
        return exc.code, body if isinstance(body, dict) else {}
    except (OSError, ValueError):
        return 0, {}


def service_row(config: PlatformConfig, service: str, pid: str) -> Row:
    """A service's own ``/health``: ok, degraded, down (and which checks fail)."""
    base = config.service_url(service)
    path = "/api/health/gateway" if service == "gateway" else "/health"
    code, body = fetch_json(base + path, timeout=3.0)
    if code == 0:
        return Row("service", service, base, pid, "down", "not answering")
    status = str(body.get("status") or ("ok" if code == 200 else "down"))
    checks = body.get("checks") or {}
    details = ", ".join(f"{k}={v}" for k, v in checks.items()) if isinstance(checks, dict) else ""
    return Row("service", service, base, pid, status, details)


def gateway_aggregate_row(config: PlatformConfig) -> Row:
    """The gateway's ``/api/health``: the platform as users see it."""
    url = config.service_url("gateway") + "/api/health"
    code, body = fetch_json(url, timeout=5.0)
    if code == 0:
        return Row("platform", "api/health", url, "", "down", "the gateway does not answer")
    services = body.get("services") or {}
    bad = [
        f"{name}={info.get('status')}"
        for name, info in services.items()
        if isinstance(info, dict) and info.get("status") != "ok"
    ]
    return Row(
        "platform",
        "api/health",
        url,
        "",
        str(body.get("status", code)),
        f"HTTP {code}" + (": " + ", ".join(bad) if bad else ""),
    )


def infra_rows(config: PlatformConfig) -> list[Row]:
    """PostgreSQL, Redis and RabbitMQ as the last ``up`` chose them (else as configured)."""
    recorded = recorded_urls(config.state_dir)
    servers = recorded_servers(config.state_dir)
    rows: list[Row] = []
    for kind in ("postgres", "redis", "rabbitmq"):
        if recorded is not None:
            url = recorded.as_env()[URL_NAMES[kind]]
            source = recorded.sources.get(kind, "?")
        else:
            url = config.env.get(URL_NAMES[kind]) or STANDARD_URLS[kind]
            source = "configured" if config.env.get(URL_NAMES[kind]) else "standard"
        server = servers.get(kind)
        pid = str(server.pid) if server is not None and source == "private" else ""
        answers = PROBES[kind](url)
        rows.append(Row("infra", kind, mask_url(url), pid, "up" if answers else "down", source))
    return rows


def collect(config: PlatformConfig) -> list[Row]:
    """Every row, probed concurrently."""
    record = RunState(config.state_dir).read()
    pids: dict[str, str] = {}
    for name, proc in record.processes.items():
        pids[name] = f"{proc.pid}" if proc.alive() else f"{proc.pid} (exited)"
    with ThreadPoolExecutor(max_workers=10) as pool:
        services = [pool.submit(service_row, config, s, pids.get(s, "")) for s in ALL_SERVICES]
        aggregate = pool.submit(gateway_aggregate_row, config)
        infra = pool.submit(infra_rows, config)
        rows = [f.result() for f in services]
        rows.append(aggregate.result())
        rows.extend(infra.result())
    sink = record.processes.get("smtp-sink")
    if sink is not None:
        answers = sink.port is not None and port_open("127.0.0.1", sink.port)
        rows.append(
            Row(
                "mail",
                "smtp sink",
                f"smtp://127.0.0.1:{sink.port}  {config.sink_http_url}",
                pids.get("smtp-sink", ""),
                "up" if answers else "down",
                "",
            )
        )
    return rows


def render(rows: list[Row], running_pid: int | None) -> Table:
    """The rich table."""
    title = "Empora" + (f" (empora up pid {running_pid})" if running_pid else " (not running)")
    table = Table(title=title)
    for column in ("kind", "name", "where", "pid", "status", "details"):
        table.add_column(column)
    for row in rows:
        style = OK_STYLES.get(row.status, "red")
        table.add_row(
            row.kind,
            row.name,
            row.where,
            row.pid,
            f"[{style}]{row.status}[/]",
            row.details,
        )
    return table


def all_ok(rows: list[Row]) -> bool:
    """True when every service is ok and every server is up."""
    return all(row.status in ("ok", "up") for row in rows)
