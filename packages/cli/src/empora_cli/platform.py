"""``empora up``: infrastructure, migrations, admin, catalog, SMTP sink, six services, health."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

from empora_cli import hooks
from empora_cli.config import DEFAULT_ADMIN_EMAIL, PlatformConfig, ensure_secrets
from empora_cli.console import console, fail, say, warn
from empora_cli.state import RunRecord, RunState
from empora_cli.supervisor import (
    Child,
    die_with_parent,
    port_in_use,
    service_command,
    stop_all,
    wait_port,
)
from empora_common.constants import ALL_SERVICES, SERVICES
from empora_common.infra import InfraError, InfraUrls, ensure_infra, mask_url, stop_infra

# Services start in this order; the gateway last, so its first health check finds them.
START_ORDER: tuple[str, ...] = (*SERVICES, "gateway")


class PlatformError(RuntimeError):
    """``up`` cannot go on; the message tells the user what to do."""


class ShutdownRequested(BaseException):
    """Ctrl-C or SIGTERM: stop everything cleanly."""


def _raise_shutdown(signum: int, _frame: FrameType | None) -> None:
    raise ShutdownRequested(signal.Signals(signum).name)


@contextlib.contextmanager
def shutdown_signals() -> Iterator[None]:
    """Turn SIGINT and SIGTERM into ``ShutdownRequested`` while the block runs."""
    previous = {sig: signal.signal(sig, _raise_shutdown) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def signals_ignored() -> Iterator[None]:
    """Let a clean stop finish even if Ctrl-C is pressed again."""
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def gateway_health(config: PlatformConfig, timeout: float = 5.0) -> tuple[int, dict[str, Any]]:
    """``GET /api/health`` of the gateway: (status code, body); (0, {}) when it is unreachable."""
    url = config.service_url("gateway") + "/api/health"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - our own URL
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as exc:
        try:
            body = json.loads(exc.read() or b"{}")
        except ValueError:
            body = {}
        return exc.code, body if isinstance(body, dict) else {}
    except (OSError, ValueError):
        return 0, {}


def not_ok_services(body: dict[str, Any]) -> dict[str, str]:
    """Services the gateway's health answer does not call ok, with what it says of them."""
    services = body.get("services") or {}
    result: dict[str, str] = {}
    for name in SERVICES:
        info = services.get(name)
        if not isinstance(info, dict):
            result[name] = "missing from the gateway's answer"
            continue
        if info.get("status") != "ok":
            checks = info.get("checks") or {}
            details = ", ".join(f"{k}={v}" for k, v in checks.items() if v != "ok")
            result[name] = f"{info.get('status')}" + (f" ({details})" if details else "")
    return result


@dataclass
class Platform:
    """One ``empora up``: what it started, so that it can stop exactly that."""

    config: PlatformConfig
    private_infra: bool = False
    seed: bool = True
    children: list[Child] = field(default_factory=list)
    infra: InfraUrls | None = None
    claimed: bool = False
    run_state: RunState = field(init=False)
    record: RunRecord = field(init=False)

    def __post_init__(self) -> None:
        self.run_state = RunState(self.config.state_dir)
        self.record = RunRecord()

    # ------------------------------------------------------------------ preflight

    def check_not_running(self) -> None:
        """Refuse a second ``up``; clear what a crashed one left behind."""
        previous = self.run_state.read()
        if previous.up_alive() and previous.up_pid != os.getpid():
            raise PlatformError(
                f"empora is already running (pid {previous.up_pid}); "
                "stop it with `empora down` first"
            )
        for line in self.run_state.kill_stale():
            warn(f"stopped {line}, left running by an earlier `empora up` that crashed")

    def check_services_exist(self) -> None:
        """Every service must have its app module (and notification its SMTP sink)."""
        missing = hooks.missing_services()
        if missing:
            raise PlatformError(
                "these modules are missing: "
                + ", ".join(missing)
                + " (run `uv sync --frozen` in a complete checkout)"
            )

    def wanted_ports(self) -> dict[str, int]:
        """Every port this ``up`` will listen on, by what uses it."""
        ports = {name: self.config.ports[name] for name in ALL_SERVICES}
        if self.config.smtp_host is None:
            ports["smtp sink"] = self.config.sink_port
            ports["smtp sink web"] = self.config.sink_http_port
        return ports

    def check_ports(self) -> None:
        """Refuse with a clear message when a port is taken by something else."""
        taken = [
            (name, port)
            for name, port in self.wanted_ports().items()
            if port_in_use(self.config.host, port)
        ]
        if taken:
            hints = {
                "smtp sink": "SMTP_SINK_PORT",
                "smtp sink web": "SMTP_SINK_HTTP_PORT",
            }
            lines = ", ".join(
                f"{port} ({name}; move it with {hints.get(name, name.upper() + '_PORT')})"
                for name, port in taken
            )
            raise PlatformError(
                f"port(s) already in use by another program: {lines}. "
                "Stop that program or choose other ports."
            )

    # ------------------------------------------------------------------ set-up

    def service_env(self, infra: InfraUrls, secrets: dict[str, str]) -> dict[str, str]:
        """The environment every service process gets."""
        env = {**self.config.env, **secrets, **infra.as_env()}
        for name in ALL_SERVICES:
            env[f"{name.upper()}_PORT"] = str(self.config.ports[name])
            if name != "gateway":
                env[f"{name.upper()}_URL"] = self.config.service_url(name)
        env["GATEWAY_URL"] = self.config.service_url("gateway")
        env["EMPORA_HOST"] = self.config.host
        env.setdefault("PUBLIC_BASE_URL", self.config.gateway_url)
        if self.config.smtp_host is None:
            env["SMTP_HOST"] = "127.0.0.1"
            env["SMTP_PORT"] = str(self.config.sink_port)
        env.setdefault("EMPORA_ADMIN_EMAIL", DEFAULT_ADMIN_EMAIL)
        env["PYTHONUNBUFFERED"] = "1"
        env.pop("EMPORA_DETACHED", None)
        return env

    def prepare(self, env: dict[str, str]) -> None:
        """Migrations, the admin account and the demo catalog, before any service starts."""
        assert self.infra is not None
        say("running migrations")
        hooks.migrate(self.infra.database_url, lambda s: say(f"  migrating {s}"))
        email = env["EMPORA_ADMIN_EMAIL"]
        password = env.get("EMPORA_ADMIN_PASSWORD", "")
        try:
            hooks.ensure_admin(email, password)
            say(f"admin account {email} is in place")
        except hooks.HookUnavailable as exc:
            warn(f"cannot ensure the admin account yet: {exc}")
        except ValueError as exc:
            raise PlatformError(f"EMPORA_ADMIN_EMAIL/EMPORA_ADMIN_PASSWORD: {exc}") from exc
        if self.seed:
            self.seed_if_empty()

    def seed_if_empty(self) -> None:
        """Load the demo catalog unless the catalog has products."""
        try:
            if not hooks.catalog_is_empty():
                say("the catalog already has products; not seeding")
                return
            say("seeding the demo catalog")
            hooks.seed_catalog(SeedProgress())
            say("demo catalog loaded")
        except hooks.HookUnavailable as exc:
            warn(f"cannot seed the demo catalog yet: {exc}")

    # ------------------------------------------------------------------ processes

    def start_child(self, child: Child) -> None:
        """Start one child and record it."""
        child.start()
        self.children.append(child)
        self.record.processes[child.name] = child.record()
        self.run_state.write(self.record)

    def start_sink(self, env: dict[str, str]) -> None:
        """The local SMTP sink that keeps every email (unless SMTP_HOST is set)."""
        if self.config.smtp_host is not None:
            say(f"email goes to {self.config.smtp_host}:{self.config.smtp_port}")
            return
        cmd = [
            sys.executable,
            "-m",
            "empora_notification.sink",
            "--host",
            "127.0.0.1",
            "--smtp-port",
            str(self.config.sink_port),
            "--http-port",
            str(self.config.sink_http_port),
        ]
        child = Child(
            "smtp-sink",
            cmd,
            env,
            self.config.logs_dir / "smtp-sink.log",
            self.config.workdir,
            port=self.config.sink_port,
        )
        self.start_child(child)
        if not wait_port("127.0.0.1", self.config.sink_port, 30, child.alive):
            raise PlatformError(f"the SMTP sink did not start:\n{child.log_tail()}")

    def start_services(self, env: dict[str, str]) -> None:
        """The six services as processes, logging to ``<state>/logs``."""
        for service in START_ORDER:
            port = self.config.ports[service]
            child = Child(
                service,
                service_command(service, self.config.host, port),
                env,
                self.config.logs_dir / f"{service}.log",
                self.config.workdir,
                port=port,
            )
            self.start_child(child)
        say("started " + ", ".join(f"{c.name} (pid {c.pid})" for c in self.children))

    def exited_children(self) -> list[Child]:
        """Children that ended."""
        return [c for c in self.children if not c.alive()]

    def wait_healthy(self) -> None:
        """Wait until the gateway's ``/api/health`` is 200, or explain what is not ok."""
        deadline = time.monotonic() + self.config.up_timeout
        status: int = 0
        body: dict[str, Any] = {}
        while time.monotonic() < deadline:
            dead = self.exited_children()
            if dead:
                details = "\n".join(
                    f"--- {c.name} exited with {c.returncode}; last lines of {c.log_path}:\n"
                    + c.log_tail()
                    for c in dead
                )
                raise PlatformError(f"a process stopped during start-up:\n{details}")
            status, body = gateway_health(self.config, timeout=5.0)
            if status == 200:
                return
            time.sleep(0.5)
        if status == 0:
            reason = "the gateway does not answer"
        else:
            bad = not_ok_services(body)
            reason = "not ok: " + "; ".join(f"{k}: {v}" for k, v in bad.items())
        raise PlatformError(
            f"the platform was not healthy after {self.config.up_timeout:.0f}s ({reason}); "
            f"see the logs in {self.config.logs_dir}"
        )

    # ------------------------------------------------------------------ the whole run

    def start(self) -> None:
        """Everything up to a healthy platform."""
        self.check_not_running()
        self.check_services_exist()
        self.check_ports()
        self.record = self.run_state.claim(self.config.host, dict(self.wanted_ports()))
        self.claimed = True
        say("finding PostgreSQL, Redis and RabbitMQ" + (" (private)" if self.private_infra else ""))
        try:
            self.infra = ensure_infra(
                private=self.private_infra,
                state=self.config.state_dir,
                env=self.config.env,
                log=lambda m: say("  " + m),
                record_urls=True,
            )
        except InfraError as exc:
            raise PlatformError(str(exc)) from exc
        for label, kind, url in (
            ("PostgreSQL", "postgres", self.infra.database_url),
            ("Redis", "redis", self.infra.redis_url),
            ("RabbitMQ", "rabbitmq", self.infra.amqp_url),
        ):
            say(f"  {label}: {mask_url(url)} ({self.infra.sources.get(kind)})")
        secrets = ensure_secrets(self.config)
        env = self.service_env(self.infra, secrets)
        # The in-process hooks build their settings from the environment.
        os.environ.update(env)
        self.prepare(env)
        self.start_sink(env)
        self.start_services(env)
        say("waiting for http://localhost:{}/api/health".format(self.config.ports["gateway"]))
        self.wait_healthy()
        self.print_welcome(env)

    def print_welcome(self, env: dict[str, str]) -> None:
        """The URLs and what to try first."""
        gw = self.config.gateway_url
        console.print()
        console.print("[bold green]Empora is up.[/]")
        console.print(f"  API            {gw}/api")
        console.print(f"  API docs       {gw}/api/docs")
        console.print(f"  health         {gw}/api/health")
        if self.config.smtp_host is None:
            console.print(f"  emails (sink)  {self.config.sink_http_url}")
        console.print(f"  admin          {env['EMPORA_ADMIN_EMAIL']}", end="")
        if not self.config.env.get("EMPORA_ADMIN_PASSWORD"):
            console.print(f" (password in {self.config.state_dir / 'secrets.env'})")
        else:
            console.print()
        console.print(f"  logs           {self.config.logs_dir}")
        console.print()
        console.print("Try first:")
        console.print(f"  curl {gw}/api/products")
        console.print(
            f"  curl -X POST {gw}/api/auth/register -H 'Content-Type: application/json' "
            """-d '{"email": "me@example.com", "password": "a long passphrase"}'"""
        )
        console.print("Press Ctrl-C to stop everything.")

    def watch(self) -> None:
        """Run until a signal; report children that exit (no restart: health shows it)."""
        while True:
            for child in self.exited_children():
                if not child.reported_exit:
                    child.reported_exit = True
                    warn(
                        f"{child.name} exited with {child.returncode}; "
                        f"see {child.log_path} (`empora status` shows it down)"
                    )
            time.sleep(0.5)

    def stop(self) -> None:
        """Stop every child, then the private servers, and forget the run."""
        if not self.claimed:
            return
        if self.children:
            say("stopping " + ", ".join(c.name for c in reversed(self.children)))
            stop_all(list(reversed(self.children)))
        # Whatever infra.json records was started by this run or a crashed earlier one.
        for line in stop_infra(self.config.state_dir, log=lambda m: say("  " + m)):
            say(f"  stopped {line}")
        self.run_state.clear()
        say("stopped")


def run_foreground(config: PlatformConfig, *, private_infra: bool, seed: bool) -> int:
    """``empora up`` in the foreground: returns the exit code."""
    if not os.environ.get("EMPORA_DETACHED"):
        # If whatever started us dies (a killed `uv run`), stop cleanly instead of lingering.
        die_with_parent()
    platform = Platform(config, private_infra=private_infra, seed=seed)
    code = 0
    try:
        with shutdown_signals():
            try:
                platform.start()
                platform.watch()
            except ShutdownRequested as stop:
                say(f"received {stop}; shutting down")
    except PlatformError as exc:
        fail(str(exc))
        code = 1
    except ShutdownRequested as stop:
        say(f"received {stop}; shutting down")
    except Exception as exc:
        fail(f"{type(exc).__name__}: {exc}")
        code = 1
    finally:
        with signals_ignored():
            platform.stop()
    return code


def run_detached(config: PlatformConfig, *, private_infra: bool, seed: bool) -> int:
    """``empora up --detach``: start ``up`` in the background and wait until it is healthy."""
    config.logs_dir.mkdir(parents=True, exist_ok=True)
    log_path = config.logs_dir / "up.log"
    cmd = [sys.executable, "-m", "empora_cli", "up"]
    if private_infra:
        cmd.append("--private-infra")
    if not seed:
        cmd.append("--no-seed")
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            cmd,
            env={**os.environ, "EMPORA_DETACHED": "1"},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    say(f"started in the background (pid {proc.pid}, log {log_path})")
    deadline = time.monotonic() + config.up_timeout + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            fail(f"`empora up` stopped with {proc.returncode}; see {log_path}")
            return 1
        status, _ = gateway_health(config, timeout=2.0)
        if status == 200:
            say(f"Empora is up: {config.gateway_url}/api (stop it with `empora down`)")
            return 0
        time.sleep(0.5)
    fail(f"not healthy in time; see {log_path}")
    return 1


class SeedProgress:
    """Progress callback of the catalog seed, ``progress(done, total)``: a line a second."""

    def __init__(self) -> None:
        self._last = 0.0

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        now = time.monotonic()
        finished = len(args) == 2 and args[0] == args[1]
        if now - self._last < 1.0 and not finished:
            return
        self._last = now
        if len(args) == 2 and all(isinstance(a, int) for a in args):
            say(f"  seed: {args[0]}/{args[1]} products")
            return
        parts = [str(a) for a in args] + [f"{k}={v}" for k, v in kwargs.items()]
        if parts:
            say("  seed: " + " ".join(parts))
