"""Money in integer minor units."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Money(BaseModel):
    """``{"amount": 1999, "currency": "USD"}``; amount in minor units, never a float."""

    model_config = ConfigDict(frozen=True)

    amount: int = Field(ge=0)
    currency: str = Field(min_length=3, max_length=3)

    def __add__(self, other: Money) -> Money:
        if other.currency != self.currency:
            raise ValueError("currency mismatch")
        return Money(amount=self.amount + other.amount, currency=self.currency)

    def times(self, quantity: int) -> Money:
        """This amount multiplied by a quantity."""
        return Money(amount=self.amount * quantity, currency=self.currency)
