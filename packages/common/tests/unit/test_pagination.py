import pytest

from empora_common.errors import ValidationFailed
from empora_common.pagination import Page, PageParams, page_request


class TestPageParams:
    def test_offset(self) -> None:
        assert PageParams(page=3, limit=20).offset == 40

    def test_refuses_a_window_beyond_ten_thousand(self) -> None:
        with pytest.raises(ValidationFailed):
            page_request(page=101, limit=100)
        assert page_request(page=100, limit=100).page == 100


class TestPage:
    def test_counts_pages(self) -> None:
        page = Page[int].build([1, 2], PageParams(page=1, limit=2), total=5)
        assert page.meta.total_pages == 3
        assert Page[int].build([], PageParams(page=1, limit=2), total=0).meta.total_pages == 0
