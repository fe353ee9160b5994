"""tokens slice."""
