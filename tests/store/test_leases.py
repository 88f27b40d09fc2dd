"""Claims with leases: two workers never get the same item; an expired lease frees it."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import func, select

from connector.store.db import Store
from connector.store.leases import claim
from connector.store.models import Message, MessageState, utcnow


def _seed(store: Store, n: int) -> None:
    with store.sessions.begin() as session:
        for i in range(n):
            session.add(Message(account="a", pos_id=str(i), state=MessageState.STORED, attempts=0))


def test_concurrent_workers_claim_disjoint_batches(db_url: str) -> None:
    store = Store(db_url)
    _seed(store, 200)
    claimed: dict[str, list[int]] = {"w1": [], "w2": [], "w3": []}
    errors: list[BaseException] = []

    def worker(name: str) -> None:
        own = Store(db_url, migrate=False)
        try:
            while True:
                ids = claim(own.sessions, Message, [Message.state == MessageState.STORED], worker=name,
                            lease_seconds=60, limit=7, now=utcnow())
                if not ids:
                    return
                claimed[name].extend(ids)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            own.dispose()

    threads = [threading.Thread(target=worker, args=(n,)) for n in claimed]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    all_ids = [i for ids in claimed.values() for i in ids]
    assert len(all_ids) == len(set(all_ids)) == 200
    with store.session() as session:
        owners = dict(session.execute(select(Message.claimed_by, func.count()).group_by(Message.claimed_by)).all())
    assert owners == {name: len(ids) for name, ids in claimed.items() if ids}
    store.dispose()


def test_expired_lease_is_claimable_again(db_url: str) -> None:
    store = Store(db_url)
    _seed(store, 3)
    now = utcnow()
    first = claim(store.sessions, Message, [], worker="dead", lease_seconds=30, limit=10, now=now)
    assert claim(store.sessions, Message, [], worker="alive", lease_seconds=30, limit=10, now=now) == []
    later = now + timedelta(seconds=31)
    assert claim(store.sessions, Message, [], worker="alive", lease_seconds=30, limit=10, now=later) == first
    store.dispose()
