"""Every table of the auth schema, gathered on one MetaData (Alembic's ``env.py`` imports it)."""

from __future__ import annotations

from empora_auth.keys import models as _keys_models
from empora_auth.links import models as _links_models
from empora_auth.orm import inbox, metadata, outbox
from empora_auth.tokens import models as _tokens_models
from empora_auth.users import models as _users_models

__all__ = ["inbox", "metadata", "outbox"]

# Imported for their side effect: registering their tables on ``metadata``.
_ = (_keys_models, _links_models, _tokens_models, _users_models)
