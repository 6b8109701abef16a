"""The query guard parses a query's text once per process (beanquery's parser takes 0.3 to 3 s)."""

from __future__ import annotations

from ailab_books.dashboard.query_guard import refusal, statement_kind
from ailab_books.queries.runner import package_queries


def test_the_same_text_is_parsed_once() -> None:
    text = package_queries()["cost-stack"].query_string
    statement_kind.cache_clear()
    assert refusal(text) is None
    assert refusal(text) is None
    info = statement_kind.cache_info()
    assert (info.misses, info.hits) == (1, 1)


def test_a_cached_refusal_is_still_a_refusal() -> None:
    text = "CREATE TABLE t (x int) USING 'csv:///tmp/t.csv'"
    first, second = refusal(text), refusal(text)
    assert first is not None and first == second
    assert "CreateTable" in first
