"""Categories slice of the product service."""
