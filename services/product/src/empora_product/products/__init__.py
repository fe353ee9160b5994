"""Products slice of the product service."""
