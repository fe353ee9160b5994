"""Dependencies of the products slice."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends

from empora_common.security import AdminUser
from empora_product.dependencies import CatalogSession
from empora_product.products import service


async def admin_product(product_id: str, _admin: AdminUser, session: CatalogSession) -> uuid.UUID:
    """The product an admin route acts on (id or slug), locked; 401/403 first, then 404."""
    return await service.find_for_update(session, product_id)


AdminProduct = Annotated[uuid.UUID, Depends(admin_product)]
