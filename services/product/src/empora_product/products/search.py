"""The listing and search query: filters, full-text + trigram matching, ranked sorts.

Pure functions building one SQL statement for asyncpg, so the rules can be unit-tested and
the benchmark runs exactly the statement the service runs.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any, Literal

Sort = Literal["relevance", "price", "-price", "name", "-created_at"]
SORTS: tuple[str, ...] = ("relevance", "price", "-price", "name", "-created_at")

# Every sort ends with the same tie-breakers, so pages never repeat or skip an item.
_ORDER_BY: dict[str, str] = {
    "relevance": "rank DESC, p.created_at DESC, p.id",
    "price": "p.price_amount, p.created_at DESC, p.id",
    "-price": "p.price_amount DESC, p.created_at DESC, p.id",
    "name": "p.name, p.created_at DESC, p.id",
    "-created_at": "p.created_at DESC, p.id",
}

PRODUCT_COLUMNS = (
    "p.id, p.sku, p.slug, p.name, p.description, p.price_amount, p.currency, p.category_id,"
    " p.images, p.attributes, p.is_active, p.created_at, p.updated_at"
)

MAX_TRIGRAM_WORDS = 5
MIN_TRIGRAM_WORD = 4
MIN_PREFIX = 2
# Words too common to be worth a fuzzy match on their own.
_FUZZY_STOPWORDS = frozenset(
    {"with", "from", "that", "this", "your", "have", "into", "over", "under", "for", "and"}
)
_WORD = re.compile(r"[A-Za-z0-9]+")
_NEGATED = re.compile(r"(?:^|\s)-([A-Za-z0-9]+)")
_LAST_WORD = re.compile(r"([A-Za-z0-9]+)\s*$")


@dataclass(frozen=True, slots=True)
class ListQuery:
    """What a listing asks for (validated by the router)."""

    q: str | None = None
    category: str | None = None
    min_price: int | None = None
    max_price: int | None = None
    in_stock: bool | None = None
    sort: Sort | None = None

    @property
    def effective_sort(self) -> str:
        """``relevance`` with a search term, else ``-created_at``, unless one was asked for."""
        if self.sort is None or (self.sort == "relevance" and not self.q):
            return "relevance" if self.q else "-created_at"
        return self.sort

    @property
    def cacheable(self) -> bool:
        """Pages filtered by stock change with every checkout: never cached."""
        return self.in_stock is None

    def cache_key(self, page: int, limit: int) -> str:
        """A stable key for one page of this listing."""
        parts = [
            self.q or "",
            self.category or "",
            "" if self.min_price is None else str(self.min_price),
            "" if self.max_price is None else str(self.max_price),
            self.effective_sort,
            str(page),
            str(limit),
        ]
        return "list:" + "\x1f".join(parts)


def split_last_word(q: str) -> tuple[str, str | None]:
    """``(the query without its last word, that word)`` when the last word can be a prefix.

    The last word is typed last, so it is often unfinished ("wireless headph"): it is also
    matched as a prefix. Not when it is quoted or negated, where a prefix would change meaning.
    """
    match = _LAST_WORD.search(q)
    if match is None:
        return q, None
    head = q[: match.start(1)]
    word = match.group(1).lower()
    if len(word) < MIN_PREFIX or head.count('"') % 2 == 1 or head.endswith(("-", '"')):
        return q, None
    return head.strip(), word


def negated_words(q: str) -> list[str]:
    """Words excluded with ``-word`` (websearch syntax)."""
    return [word.lower() for word in _NEGATED.findall(q)]


def trigram_words(q: str) -> list[str]:
    """The words that get a typo-tolerant (trigram) match against product names."""
    excluded = set(negated_words(q))
    words: list[str] = []
    for word in _WORD.findall(q.lower()):
        if word in excluded:
            continue
        if len(word) >= MIN_TRIGRAM_WORD and word not in _FUZZY_STOPWORDS and word not in words:
            words.append(word)
        if len(words) == MAX_TRIGRAM_WORDS:
            break
    return words


@dataclass(frozen=True, slots=True)
class Statement:
    """SQL text and its positional arguments."""

    sql: str
    args: tuple[Any, ...]


def _category_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class _Filter:
    """The ``FROM ... WHERE ...`` of a listing, its rank expression and its arguments."""

    from_where: str
    with_stock: str
    rank: str
    args: list[Any]


def _filter(query: ListQuery) -> _Filter:
    args: list[Any] = []

    def arg(value: Any, cast: str) -> str:
        args.append(value)
        return f"${len(args)}{cast}"

    where = ["p.is_active"]
    search_from = ""
    rank = "0"
    if query.q:
        q = arg(query.q, "::text")
        head, last = split_last_word(query.q)
        tsq = f"websearch_to_tsquery('english', {q})"
        if last is not None:
            tsq = (
                f"({tsq} || (websearch_to_tsquery('english', {arg(head, '::text')})"
                f" && to_tsquery('english', {arg(last + ':*', '::text')})))"
            )
        search_from = f" CROSS JOIN (SELECT {tsq} AS tsq) sq"
        fuzzy = " OR ".join(f"{arg(word, '::text')} <% p.name" for word in trigram_words(query.q))
        excluded = negated_words(query.q)
        if fuzzy and excluded:
            # A fuzzy match must still respect "-word" exclusions.
            fuzzy = (
                f"({fuzzy}) AND NOT p.search_vector @@"
                f" websearch_to_tsquery('english', {arg(' or '.join(excluded), '::text')})"
            )
        where.append(
            f"(p.search_vector @@ sq.tsq OR ({fuzzy}))" if fuzzy else "p.search_vector @@ sq.tsq"
        )
        # Exact name first, then full-text matches (name weighted above description), then
        # names that only resemble the query (typos).
        rank = (
            f"(lower(p.name) = lower({q}))::int * 10"
            f" + (p.search_vector @@ sq.tsq)::int"
            f" + ts_rank(p.search_vector, sq.tsq)"
            f" + word_similarity({q}, p.name)"
        )
    if query.category:
        slug = arg(query.category, "::text")
        cid = arg(_category_uuid(query.category), "::uuid")
        # The subtree is a range of materialised paths ("~>=~"/"~<~" compare bytes, as the
        # text_pattern_ops index does; every path character sorts below "~").
        where.append(
            "p.category_id = ANY(ARRAY(SELECT c.id FROM product.category c,"
            f" (SELECT c2.path FROM product.category c2 WHERE c2.slug = {slug} OR c2.id = {cid})"
            " root WHERE c.path ~>=~ root.path AND c.path ~<~ (root.path || '~')))"
        )
    if query.min_price is not None:
        where.append(f"p.price_amount >= {arg(query.min_price, '::bigint')}")
    if query.max_price is not None:
        where.append(f"p.price_amount <= {arg(query.max_price, '::bigint')}")
    if query.in_stock is not None:
        exists = (
            "EXISTS (SELECT 1 FROM product.stock s2"
            " WHERE s2.product_id = p.id AND s2.on_hand > s2.reserved)"
        )
        where.append(exists if query.in_stock else f"NOT {exists}")
    conditions = " AND ".join(where)
    return _Filter(
        from_where=f"product.product p{search_from} WHERE {conditions}",
        with_stock=(
            f"product.product p{search_from}"
            f" LEFT JOIN product.stock s ON s.product_id = p.id WHERE {conditions}"
        ),
        rank=rank,
        args=args,
    )


def build_list_statement(query: ListQuery, limit: int, offset: int) -> Statement:
    """One page of active products with their stock and the total count, in one statement."""
    f = _filter(query)
    n = len(f.args)
    sql = (
        f"SELECT (SELECT count(*) FROM {f.from_where}) AS total, {PRODUCT_COLUMNS},"
        f" coalesce(s.on_hand, 0) AS on_hand, coalesce(s.reserved, 0) AS reserved,"
        f" {f.rank} AS rank FROM {f.with_stock}"
        f" ORDER BY {_ORDER_BY[query.effective_sort]} LIMIT ${n + 1}::int OFFSET ${n + 2}::int"
    )
    return Statement(sql=sql, args=(*f.args, limit, offset))


def build_count_statement(query: ListQuery) -> Statement:
    """The total alone (for a page past the end, which has no row to carry it)."""
    f = _filter(query)
    return Statement(sql=f"SELECT count(*) FROM {f.from_where}", args=tuple(f.args))
