from empora_common.db import async_database_url, plain_database_url


class TestDatabaseUrls:
    def test_adds_the_asyncpg_driver(self) -> None:
        assert (
            async_database_url("postgresql://u:p@h:5432/d") == "postgresql+asyncpg://u:p@h:5432/d"
        )
        assert async_database_url("postgres://h/d") == "postgresql+asyncpg://h/d"

    def test_keeps_an_explicit_async_driver(self) -> None:
        assert async_database_url("postgresql+asyncpg://h/d") == "postgresql+asyncpg://h/d"

    def test_plain_url_drops_the_driver(self) -> None:
        assert plain_database_url("postgresql+asyncpg://u@h/d?x=1") == "postgresql://u@h/d?x=1"
