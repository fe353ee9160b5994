"""Notifications: one email per event, its delivery state, and who may see it."""
