"""Integration-event payloads (the ``data`` of the envelope), versioned and additive."""
