"""Seed slice of the product service."""
