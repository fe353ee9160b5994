from __future__ import annotations

from typing import Annotated

import pytest
from pydantic import BaseModel, ValidationError

from empora_common.errors import ValidationFailed
from empora_common.text import (
    NUL_MESSAGE,
    SURROGATE_MESSAGE,
    CleanText,
    check_query_text,
    text_problem,
)


class Body(BaseModel):
    name: Annotated[str, CleanText]


class TestCleanText:
    @pytest.mark.parametrize("value", ["", "Ada", "Zoë 😀", "tab\tand\nnewline", "\\u0000"])
    def test_keeps_text_postgresql_can_store(self, value: str) -> None:
        assert text_problem(value) is None
        assert Body(name=value).name == value

    @pytest.mark.parametrize(
        ("value", "message"),
        [("a\x00b", NUL_MESSAGE), ("a\ud800b", SURROGATE_MESSAGE), ("\udfff", SURROGATE_MESSAGE)],
    )
    def test_refuses_nul_and_unpaired_surrogates(self, value: str, message: str) -> None:
        assert text_problem(value) == message
        with pytest.raises(ValidationError) as caught:
            Body(name=value)
        assert message in str(caught.value)

    def test_a_json_escaped_pair_is_one_character_and_fine(self) -> None:
        assert Body.model_validate_json('{"name": "\\ud83d\\ude00"}').name == "😀"


class TestQueryText:
    def test_names_the_first_bad_parameter(self) -> None:
        with pytest.raises(ValidationFailed) as caught:
            check_query_text(q="fine", category="x\x00")
        assert caught.value.extra["errors"] == [{"field": "category", "message": NUL_MESSAGE}]

    def test_passes_none_and_good_text(self) -> None:
        check_query_text(q=None, category="shoes")
