"""Stock slice of the product service."""
