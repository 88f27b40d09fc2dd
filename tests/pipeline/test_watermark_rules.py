"""The watermark rules and the listing bounds on their own (pure: no server, no store)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from connector.domain import PosStatus
from connector.pipeline.listing import BoundedListing, ListingRunaway
from connector.pipeline.settings import PullSettings
from connector.pipeline.watermark import Signpost, advanced, listing_since
from connector.pos_client.client import ListedPage, http_date
from connector.pos_client.wire import WireListItem

T0 = datetime(2026, 12, 31, 21, 30, tzinfo=UTC)
POST = Signpost(T0, timedelta(seconds=60))


def test_the_watermark_follows_the_newest_item_but_never_passes_the_signpost() -> None:
    assert advanced(None, T0 - timedelta(hours=1), POST) == T0 - timedelta(hours=1)
    assert advanced(T0 - timedelta(hours=1), T0 - timedelta(seconds=10), POST) == T0 - timedelta(seconds=60)
    assert advanced(T0 - timedelta(hours=1), None, POST) == T0 - timedelta(hours=1)
    assert advanced(T0 - timedelta(hours=1), T0 - timedelta(hours=2), POST) == T0 - timedelta(hours=1)


def test_a_watermark_past_the_signpost_comes_back_to_it() -> None:  # the POS clock stepped back
    assert advanced(T0 + timedelta(minutes=10), None, POST) == POST.limit


def test_future_dated_and_lookback() -> None:
    assert POST.is_future(T0 + timedelta(seconds=61)) and not POST.is_future(T0 + timedelta(seconds=60))
    assert listing_since(T0, timedelta(minutes=15)) == T0 - timedelta(minutes=15)
    assert listing_since(None, timedelta(minutes=15)) is None


def test_http_date() -> None:
    assert http_date("Thu, 31 Dec 2026 21:30:00 GMT") == T0
    assert http_date("yesterday") is None and http_date(None) is None


def _item(n: int) -> WireListItem:
    return WireListItem(id=str(n), status=PosStatus.NEW, updated_at=T0 + timedelta(seconds=n))


def _pages(*pages: list[int], endless: bool = False) -> Iterator[ListedPage]:
    for i, ids in enumerate(pages):
        last = i == len(pages) - 1 and not endless
        yield ListedPage(items=[_item(n) for n in ids], next_cursor=None if last else f"c{i}", server_date=T0)
    while endless:
        yield ListedPage(items=[_item(n) for n in pages[-1]], next_cursor="fresh", server_date=T0)


def _walk(pages: Iterator[ListedPage], **settings: int) -> list[str]:
    listing = BoundedListing(pages, account="demo", settings=PullSettings(**settings), clock=lambda: T0)
    return [item.id for item in listing]


def test_a_repeated_item_is_given_once_and_a_normal_listing_ends() -> None:
    assert _walk(_pages([1, 2], [2, 3], [])) == ["1", "2", "3"]


@pytest.mark.parametrize("pages,settings,bound", [
    (_pages([1], [2], [3], [4]), {"max_pages_per_run": 3}, "max_pages_per_run"),
    (_pages([1, 2], [3, 4]), {"max_items_per_run": 3}, "max_items_per_run"),
    (_pages([1], [2], endless=True), {}, "max_stale_pages"),
    (_pages([], endless=True), {}, "max_stale_pages"),
])
def test_a_listing_that_would_not_end_stops_naming_the_account_and_the_bound(
        pages: Iterator[ListedPage], settings: dict[str, int], bound: str) -> None:
    with pytest.raises(ListingRunaway, match=f"'demo'.*{bound}"):
        _walk(pages, **settings)
