"""A POS listing with bounds: it always ends, and its signpost is known from the first page.

POS hands out cursors; a broken paginator can hand out fresh ones for ever, repeating items
or bringing none.  The walk stops with :class:`ListingRunaway` (naming the account and the
bound) when one run sees more pages or items than ``[pull]`` allows, or when pages keep
coming without anything new.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

from connector.errors import ConnectorError
from connector.i18n import N_, _
from connector.pipeline.settings import PullSettings
from connector.pipeline.watermark import Signpost
from connector.pos_client.client import ListedPage
from connector.pos_client.settings import pos_account
from connector.pos_client.wire import WireListItem


class ListingRunaway(ConnectorError):
    """The listing would not end by itself; the run stops and the watermark stays."""


class BoundedListing:
    """Iterate the new items of ``pages``; :attr:`signpost` is set once the first page came."""

    def __init__(self, pages: Iterator[ListedPage], *, account: str, settings: PullSettings,
                 clock: Callable[[], datetime]) -> None:
        self._pages = pages
        self.account = account
        self.settings = settings
        self._started = clock()  # our clock when the listing started: the signpost without a Date header
        self.signpost: Signpost | None = None
        self.pages = 0

    def __iter__(self) -> Iterator[WireListItem]:
        seen: set[tuple[str, datetime]] = set()
        stale = 0
        s = self.settings
        for page in self._pages:
            if self.signpost is None:
                self.signpost = Signpost(page.server_date or self._started,
                                         timedelta(seconds=s.clock_allowance_seconds))
            self.pages += 1
            if self.pages > s.max_pages_per_run:
                raise self._runaway(f"more than {s.max_pages_per_run} pages in one run ([pull] max_pages_per_run)")
            new = [item for item in page.items if (item.id, item.updated_at) not in seen]
            seen.update((item.id, item.updated_at) for item in new)
            if len(seen) > s.max_items_per_run:
                raise self._runaway(_("more than {count} items in one run ([pull] max_items_per_run)")
                                    .format(count=s.max_items_per_run))
            stale = stale + 1 if page.next_cursor and not new else 0
            if stale >= s.max_stale_pages:
                raise self._runaway(_("{count} pages in a row with a fresh cursor and nothing new "
                                      "([pull] max_stale_pages)").format(count=stale))
            yield from new

    def _runaway(self, why: str) -> ListingRunaway:
        return ListingRunaway(N_("{who}: the appeal listing did not end: {why}; "
                                 "the run stopped and the watermark stays where it was"),
                              params={"who": pos_account(self.account), "why": why})
