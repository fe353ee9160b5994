"""``python -m empora_cli``."""

from empora_cli.main import app

app()
