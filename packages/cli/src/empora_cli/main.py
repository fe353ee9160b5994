"""The ``empora`` command."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import time
from typing import Annotated

import typer
from rich.table import Table

from empora_cli import dlq as dlq_ops
from empora_cli import hooks
from empora_cli import status as status_ops
from empora_cli.config import PlatformConfig, ensure_secrets
from empora_cli.console import console, fail, say, warn
from empora_cli.platform import SeedProgress, run_detached, run_foreground
from empora_cli.state import RunState
from empora_common.constants import ALL_SERVICES
from empora_common.infra import (
    STANDARD_URLS,
    InfraError,
    InfraUrls,
    ensure_infra,
    recorded_urls,
    stop_infra,
    terminate_pid,
    wait_pid_gone,
)

app = typer.Typer(
    name="empora",
    help="Run the Empora platform locally: up, down, status, migrate, seed, admin, DLQs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
dlq_app = typer.Typer(help="Dead-letter queues: list them, replay them.", no_args_is_help=True)
app.add_typer(dlq_app, name="dlq")


def _config() -> PlatformConfig:
    try:
        return PlatformConfig.from_env()
    except ValueError as exc:
        fail(str(exc))
        raise typer.Exit(2) from exc


def _infra(config: PlatformConfig) -> InfraUrls:
    """The servers of the running platform, else the same discovery as ``up``."""
    running = RunState(config.state_dir).read().up_alive()
    recorded = recorded_urls(config.state_dir)
    if running and recorded is not None:
        return recorded
    try:
        urls = ensure_infra(state=config.state_dir, env=config.env, log=say)
    except InfraError as exc:
        fail(str(exc))
        raise typer.Exit(1) from exc
    if "private" in urls.sources.values():
        warn("private servers were started for this; `empora down` stops them")
    return urls


def _prepare_env(config: PlatformConfig) -> InfraUrls:
    """Put the infrastructure URLs and secrets where the services' settings read them."""
    urls = _infra(config)
    os.environ.update({**ensure_secrets(config), **urls.as_env()})
    return urls


@app.command()
def up(
    private_infra: Annotated[
        bool,
        typer.Option(
            "--private-infra",
            envvar="EMPORA_PRIVATE_INFRA",
            help="Ignore configured and standard servers; start private ones under .empora/.",
        ),
    ] = False,
    detach: Annotated[
        bool, typer.Option("--detach", "-d", help="Run in the background; stop with `down`.")
    ] = False,
    seed: Annotated[
        bool, typer.Option("--seed/--no-seed", help="Load the demo catalog when it is empty.")
    ] = True,
) -> None:
    """Start everything in the foreground (Ctrl-C stops it all)."""
    config = _config()
    if detach:
        raise typer.Exit(run_detached(config, private_infra=private_infra, seed=seed))
    raise typer.Exit(run_foreground(config, private_infra=private_infra, seed=seed))


@app.command()
def down() -> None:
    """Stop what `empora up` started: services, SMTP sink and private servers."""
    config = _config()
    run_state = RunState(config.state_dir)
    record = run_state.read()
    if record.up_alive() and record.up_pid is not None:
        say(f"stopping `empora up` (pid {record.up_pid})")
        terminate_pid(record.up_pid, timeout=60.0)
        wait_pid_gone(record.up_pid, 5.0)
    for line in run_state.kill_stale():
        say(f"stopped {line}")
    for line in stop_infra(config.state_dir, log=say):
        say(f"stopped {line}")
    say("nothing of Empora is running")


@app.command()
def status() -> None:
    """A table of the services and servers with their health (exit 1 if any is not ok)."""
    config = _config()
    record = RunState(config.state_dir).read()
    if record.ports:
        ports = {**config.ports, **{s: record.ports[s] for s in ALL_SERVICES if s in record.ports}}
        config = dataclasses.replace(config, ports=ports, host=record.host)
    rows = status_ops.collect(config)
    running = record.up_pid if record.up_alive() else None
    console.print(status_ops.render(rows, running))
    if not status_ops.all_ok(rows):
        raise typer.Exit(1)


@app.command()
def migrate() -> None:
    """Run every service's database migrations."""
    config = _config()
    urls = _prepare_env(config)
    started = time.perf_counter()
    done = hooks.migrate(urls.database_url, lambda s: say(f"migrating {s}"))
    say(f"migrated {', '.join(done)} in {time.perf_counter() - started:.1f}s")


@app.command()
def seed(
    force: Annotated[bool, typer.Option(help="Seed even if the catalog has products.")] = False,
) -> None:
    """Load the demo catalog (when the catalog is empty)."""
    config = _config()
    _prepare_env(config)
    try:
        if not force and not hooks.catalog_is_empty():
            say("the catalog already has products (use --force to seed anyway)")
            return
        hooks.seed_catalog(SeedProgress())
    except hooks.HookUnavailable as exc:
        fail(str(exc))
        raise typer.Exit(1) from exc
    say("demo catalog loaded")


@app.command("create-admin")
def create_admin(
    email: Annotated[str, typer.Option(help="The admin's email.")],
    password: Annotated[
        str, typer.Option(prompt=True, hide_input=True, help="The admin's password.")
    ],
) -> None:
    """Create or update an admin account (verified, role admin)."""
    config = _config()
    _prepare_env(config)
    try:
        hooks.ensure_admin(email, password)
    except hooks.HookUnavailable as exc:
        fail(str(exc))
        raise typer.Exit(1) from exc
    except ValueError as exc:
        fail(str(exc))
        raise typer.Exit(2) from exc
    say(f"admin {email} is in place")


@app.command("rotate-keys")
def rotate_keys() -> None:
    """Rotate the auth service's token signing keys."""
    config = _config()
    _prepare_env(config)
    try:
        result = hooks.rotate_keys()
    except Exception as exc:  # the hook's own errors say why (e.g. keys from configuration)
        fail(str(exc))
        raise typer.Exit(1) from exc
    say("signing keys rotated" + (f": {result}" if result is not None else ""))


def _amqp(config: PlatformConfig) -> tuple[str, str]:
    """The broker URL (configured, else the running platform's, else standard) and prefix."""
    url = config.env.get("AMQP_URL")
    if not url:
        recorded = recorded_urls(config.state_dir)
        url = recorded.amqp_url if recorded is not None else STANDARD_URLS["rabbitmq"]
    return url, config.env.get("AMQP_PREFIX", "")


@dlq_app.command("list")
def dlq_list(
    peek: Annotated[int, typer.Option(help="Dead letters to show per queue.")] = 3,
) -> None:
    """Every consumer queue with its dead-letter count and a peek at the letters."""
    config = _config()
    url, prefix = _amqp(config)
    try:
        reports = asyncio.run(dlq_ops.list_dead_letters(url, prefix, peek))
    except (OSError, ConnectionError) as exc:
        fail(f"cannot reach the broker: {exc}")
        raise typer.Exit(1) from exc
    table = Table(title="Dead-letter queues")
    for column in ("queue", "ready", "dead letters", "peek (type id reason)"):
        table.add_column(column)
    for report in reports:
        peeked = "\n".join(f"{p.event_type} {p.event_id} {p.reason}" for p in report.peeked)
        table.add_row(
            report.queue,
            "-" if report.ready is None else str(report.ready),
            "-" if report.dead is None else str(report.dead),
            peeked,
        )
    console.print(table)


@dlq_app.command("replay")
def dlq_replay(
    queue: Annotated[str, typer.Argument(help="A consumer queue, e.g. notification.emails.")],
    limit: Annotated[int | None, typer.Option(help="Move at most this many.")] = None,
) -> None:
    """Move the dead letters of QUEUE back to QUEUE."""
    config = _config()
    url, prefix = _amqp(config)
    try:
        moved = asyncio.run(dlq_ops.replay(url, queue, prefix, limit))
    except dlq_ops.DlqError as exc:
        fail(str(exc))
        raise typer.Exit(1) from exc
    except (OSError, ConnectionError) as exc:
        fail(f"cannot reach the broker: {exc}")
        raise typer.Exit(1) from exc
    say(f"replayed {moved} message(s) to {queue.removesuffix('.dlq')}")
