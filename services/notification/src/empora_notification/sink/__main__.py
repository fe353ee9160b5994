"""``python -m empora_notification.sink``: the local SMTP sink and its web inbox."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from pathlib import Path

from empora_notification.sink.server import MailSink


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="python -m empora_notification.sink",
        description="Keep every email sent over SMTP and show them on a web page.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--smtp-port", type=int, default=1025, help="SMTP port (0: any free)")
    parser.add_argument("--http-port", type=int, default=8025, help="web inbox port (0: any)")
    parser.add_argument("--store", type=Path, default=None, help="also keep messages as .eml here")
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    """Run until SIGINT or SIGTERM."""
    sink = MailSink(
        host=args.host, smtp_port=args.smtp_port, http_port=args.http_port, store_dir=args.store
    )
    await sink.start()
    host = "localhost" if args.host in ("127.0.0.1", "::1") else args.host
    print(
        f"Mail sink: SMTP on {args.host}:{sink.smtp_port}, inbox at http://{host}:{sink.http_port}",
        flush=True,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await sink.stop()


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    asyncio.run(serve(parse_args(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
