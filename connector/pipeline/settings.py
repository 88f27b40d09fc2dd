"""``[pull]``: the watermark rules of the pull job, handed to the listing by the composition root."""

from __future__ import annotations

from pydantic import Field

from connector.settings_base import StrictModel


class PullSettings(StrictModel):
    """The watermark rules of the pull job (README «Reliability»)."""

    lookback_seconds: int = Field(15 * 60, ge=0, description="every listing starts this long before the "
                                                             "watermark; items already stored are not fetched again")
    clock_allowance_seconds: int = Field(60, ge=0, description="the watermark stays this far behind the moment the "
                                         "listing started; an item dated beyond now + this is a clock warning")
    sweep_days: int = Field(7, ge=1, le=366, description="the sweep lists the changes of this many last days")
    max_pages_per_run: int = Field(2000, ge=1, description="a listing with more pages in one run is an error")
    max_items_per_run: int = Field(100_000, ge=1, description="a listing with more items in one run is an error")
    max_stale_pages: int = Field(3, ge=1, description="this many pages in a row with a fresh cursor but nothing "
                                                      "new end the listing as an error")
