"""passwords slice."""
