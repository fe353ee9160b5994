"""Carts: user and guest carts kept in Redis, priced from the catalog on every view."""
