"""The one rich console every command prints to (plain text when there is no terminal)."""

from __future__ import annotations

import sys

from rich.console import Console

# Without a terminal rich assumes 80 columns; logs and CI read better wider.
console = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 140)


def say(message: str) -> None:
    """One progress line."""
    console.print(f"[bold cyan]empora[/] {message}")


def warn(message: str) -> None:
    """A warning line."""
    console.print(f"[bold yellow]empora[/] [yellow]warning:[/] {message}")


def fail(message: str) -> None:
    """An error line (stdout: one stream keeps the story in order in logs)."""
    console.print(f"[bold red]empora[/] [red]error:[/] {message}")
