"""The demo catalog: ``seed_catalog`` (used by ``empora seed`` / ``empora up``)."""

from empora_product.seed.loader import catalog_is_empty, seed_catalog

__all__ = ["catalog_is_empty", "seed_catalog"]
