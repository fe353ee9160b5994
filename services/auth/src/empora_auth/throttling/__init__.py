"""throttling slice."""
