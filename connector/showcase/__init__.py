"""The POS data showcase («Витрина данных»): every appeal of the body, whatever its channel, as one
item of the region's heat map (category, status, dates, overdue and repeat flags, territory,
coordinates), uploaded incrementally by content hash to the showcase endpoint of its POS account.

* :mod:`.models` — :class:`ShowcaseItem`, the domain item every source yields;
* :mod:`.sources` — one function per source of appeals (POS messages now); adding a channel is
  one function and one line in :data:`.sources.SOURCES`;
* :mod:`.records` — ``showcase_items``: per appeal, the item's hash, what POS accepted, its result;
* :mod:`.refresh` — sources → records (pure building in the middle, hashes compared);
* :mod:`.upload` — pending records → POS in batches, per-item results stored, rejections in failures.

The wire format is ours (a reconstruction): it lives in :mod:`connector.pos_client.wire`.
"""
