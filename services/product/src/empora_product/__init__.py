"""Empora product service: catalog, categories, search, stock and reservations."""
