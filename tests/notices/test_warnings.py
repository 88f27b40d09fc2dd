"""Early warnings, new-message notices and digests: each once, in Russian, without the applicant."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from connector.errors import ConfigError
from connector.notices import delivery
from connector.notices.planning import due_threshold
from connector.notices.templates import Templates
from connector.pipeline.context import PipelineContext
from connector.pipeline.runner import run_job

from .conftest import APPLICANT, Clock, Mailbox, body_noon, seed
from testconfig import body_today

pytestmark = pytest.mark.date_sensitive


@pytest.mark.parametrize(("left", "expected"), [(5, None), (4, None), (3, 3), (2, 3), (1, 1), (0, 0), (-7, 0)])
def test_the_most_urgent_threshold_reached_is_the_one_due(left: int, expected: int | None) -> None:
    today = body_today()
    assert due_threshold(today, today + timedelta(days=left), [3, 1, 0]) == expected


def test_each_threshold_warns_once_and_a_restart_sends_nothing_again(
        make_ctx: Callable[..., PipelineContext], mailbox: tuple[Mailbox, int]) -> None:
    box, _ = mailbox
    today = body_today()
    due = today + timedelta(days=5)
    clock = Clock(body_noon(today))
    ctx = make_ctx(clock, new_messages=False, digest_time="23:59")
    seed(ctx, due=due, pos_id="5550001")
    seed(ctx, due=today + timedelta(days=1), pos_id="5550002", category="Автомобильные дороги")
    seen: list[list[str]] = []
    for day in range(7):
        clock.now = body_noon(today + timedelta(days=day))
        for _ in range(2):  # a second run the same day finds nothing new
            assert not run_job(ctx, "notices").notes
        seen.append(box.subjects())
    restarted = make_ctx(clock, worker="w1", new_messages=False, digest_time="23:59")
    run_job(restarted, "notices")
    # 5550002: received with one day left → only the 1-day warning (to both addresses of its unit) and expiry
    assert [s for s in seen[0] if "5550002" in s] == ["[ПОС] Осталось 1 день: сообщение № 5550002, срок "
                                                      f"{(today + timedelta(days=1)):%d.%m.%Y}"]
    first = [s for s in box.subjects() if "5550001" in s]
    assert first == sorted([f"[ПОС] Осталось 3 дня: сообщение № 5550001, срок {due:%d.%m.%Y}",
                            f"[ПОС] Осталось 1 день: сообщение № 5550001, срок {due:%d.%m.%Y}",
                            f"[ПОС] Срок истёк: сообщение № 5550001, срок {due:%d.%m.%Y}"])
    assert len(box.messages) == 5  # 3 + 2, after seven days and a restart
    roads = [m for m in box.messages if "5550002" in str(m["Subject"])]
    assert {str(m["To"]) for m in roads} == {"roads@city.example, roads-head@city.example"}


def test_a_notice_carries_what_the_role_needs_and_no_applicant_contacts_by_default(
        make_ctx: Callable[..., PipelineContext], mailbox: tuple[Mailbox, int]) -> None:
    box, _ = mailbox
    today = body_today()
    ctx = make_ctx(Clock(body_noon(today)), digest_time="23:59")
    seed(ctx, due=today + timedelta(days=1), pos_id="5550010", created_at=body_noon(today) - timedelta(hours=1))
    run_job(ctx, "notices")
    assert sorted(box.subjects()) == ["[ПОС] Новое сообщение № 5550010: Многоквартирные дома",
                                      f"[ПОС] Осталось 1 день: сообщение № 5550010, срок "
                                      f"{today + timedelta(days=1):%d.%m.%Y}"]
    for body in box.bodies():
        assert "Категория: Многоквартирные дома" in body and "г. Тверь, ул. Советская, 12" in body
        assert "https://pos.gosuslugi.ru/backoffice/appeals/5550010" in body
        for private in (APPLICANT["lastName"], APPLICANT["email"], APPLICANT["phone"], "Ленина"):
            assert private not in body


def test_applicant_contacts_go_into_notices_only_when_configured(
        make_ctx: Callable[..., PipelineContext], mailbox: tuple[Mailbox, int]) -> None:
    box, _ = mailbox
    today = body_today()
    ctx = make_ctx(Clock(body_noon(today)), include_applicant_contacts=True, new_messages=False,
                   digest_time="23:59")
    seed(ctx, due=today, pos_id="5550011")
    run_job(ctx, "notices")
    [body] = box.bodies()
    assert "Заявитель: Сидорова Анна Павловна, anna.sidorova@example.ru, +7 903 111-22-33" in body


def test_new_messages_go_to_the_unit_of_their_category_once(
        make_ctx: Callable[..., PipelineContext], mailbox: tuple[Mailbox, int]) -> None:
    box, _ = mailbox
    today = body_today()
    clock = Clock(body_noon(today))
    ctx = make_ctx(clock, warn_days=[1], digest_time="23:59")
    seed(ctx, due=today + timedelta(days=20), pos_id="5550020", created_at=clock.now, state="stored")
    seed(ctx, due=today + timedelta(days=20), pos_id="5550021", created_at=clock.now,
         category="Автомобильные дороги", state="registered")
    seed(ctx, due=today + timedelta(days=20), pos_id="5550022", created_at=clock.now, category="Медицина")
    seed(ctx, due=today + timedelta(days=20), pos_id="5550023", created_at=clock.now - timedelta(days=5))
    run_job(ctx, "notices")
    run_job(ctx, "notices")
    assert box.subjects() == ["[ПОС] Новое сообщение № 5550020: Многоквартирные дома",
                              "[ПОС] Новое сообщение № 5550021: Автомобильные дороги"]
    assert str(next(m for m in box.messages if "5550020" in str(m["Subject"]))["To"]) == "zhkh@city.example"


def test_one_digest_per_unit_and_day_lists_what_is_due_and_overdue(
        make_ctx: Callable[..., PipelineContext], mailbox: tuple[Mailbox, int]) -> None:
    box, _ = mailbox
    today = body_today()
    clock = Clock(body_noon(today))
    ctx = make_ctx(clock, new_messages=False, warn_days=[2], digest_time="09:00")
    seed(ctx, due=today - timedelta(days=3), pos_id="5550030")
    seed(ctx, due=today + timedelta(days=1), pos_id="5550031")
    seed(ctx, due=today + timedelta(days=9), pos_id="5550032")
    seed(ctx, due=today + timedelta(days=1), pos_id="5550033", state="answered")
    run_job(ctx, "notices")
    run_job(make_ctx(clock, worker="w1", new_messages=False, warn_days=[2], digest_time="09:00"), "notices")
    digests = [m for m in box.messages if m["X-Pos-Connector-Notice"] == "digest"]
    assert [str(m["Subject"]) for m in digests] == [
        f"[ПОС] Сводка на {today:%d.%m.%Y}: 2 сообщений со сроком — Управление ЖКХ"]
    body = digests[0].get_content()
    assert body.index("5550030") < body.index("5550031")  # by deadline
    assert "просрочено" in body and "5550032" not in body and "5550033" not in body
    assert "Всего: 2 (просрочено: 1)." in body


def test_a_crash_between_the_smtp_handover_and_the_mark_repeats_the_notice_once_with_its_message_id(
        make_ctx: Callable[..., PipelineContext], mailbox: tuple[Mailbox, int], monkeypatch: pytest.MonkeyPatch) -> None:
    box, _ = mailbox
    today = body_today()
    clock = Clock(body_noon(today))
    ctx = make_ctx(clock, new_messages=False, digest_time="23:59")
    seed(ctx, due=today, pos_id="5550040")
    real_mark = delivery._mark

    def crash(*_args: object, **_kw: object) -> None:
        raise KeyboardInterrupt("killed after the SMTP server took the message")

    monkeypatch.setattr(delivery, "_mark", crash)
    with pytest.raises(KeyboardInterrupt):
        run_job(ctx, "notices")
    monkeypatch.setattr(delivery, "_mark", real_mark)
    run_job(ctx, "notices")
    assert len(box.messages) == 1  # the lease still holds: nobody sends it meanwhile
    clock.now += timedelta(seconds=ctx.settings.notices.lease_seconds + 1)
    run_job(ctx, "notices")
    run_job(ctx, "notices")
    assert len(box.messages) == 2  # at-least-once: one repeat for the crash, then never again
    assert box.messages[0]["Message-ID"] == box.messages[1]["Message-ID"]


def test_two_workers_on_postgresql_send_each_warning_once(
        db_url: str, make_ctx: Callable[..., PipelineContext], mailbox: tuple[Mailbox, int]) -> None:
    if db_url.startswith("sqlite"):
        pytest.skip("SQLite has one daemon per database (the lockfile guards it)")
    box, _ = mailbox
    today = body_today()
    clock = Clock(body_noon(today))
    first = make_ctx(clock, worker="w1", digest_time="00:00")
    second = make_ctx(clock, worker="w2", digest_time="00:00")
    for i in range(30):
        seed(first, due=today + timedelta(days=i % 6 - 1), pos_id=f"77{i:05d}", created_at=clock.now,
             category="Многоквартирные дома" if i % 2 else "Автомобильные дороги")
    errors: list[BaseException] = []

    def work(ctx: PipelineContext) -> None:
        try:
            for _ in range(3):
                notes = run_job(ctx, "notices").notes
                assert not notes, notes
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(c,)) for c in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    ids = [str(m["Message-ID"]) for m in box.messages]
    assert len(ids) == len(set(ids))
    warnings = [m for m in box.messages if m["X-Pos-Connector-Notice"] == "warning"]
    news = [m for m in box.messages if m["X-Pos-Connector-Notice"] == "new_message"]
    digests = [m for m in box.messages if m["X-Pos-Connector-Notice"] == "digest"]
    assert len(news) == 30 and len(digests) == 2
    assert len(warnings) == 30 - 5  # due in 4 days (i % 6 == 5): not yet warned


def test_an_administrator_can_override_a_template_and_a_typo_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "warning.txt").write_text("Subject: Срок! $number\n\n$when_sentence $link\n", encoding="utf-8")
    rendered = Templates(tmp_path).render("warning", {
        "number": "1", "when": "", "when_sentence": "Скоро.", "link": "L", "category": "", "problem_address": "",
        "due": "", "unit": "", "executor": "", "registration_number": "", "applicant_block": ""})
    assert (rendered.subject, rendered.text) == ("Срок! 1", "Скоро. L\n")
    (tmp_path / "digest.txt").write_text("Subject: $numbr\n\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"digest.txt: unknown placeholder \$numbr"):
        Templates(tmp_path)


def test_a_warning_whose_message_was_answered_before_it_went_out_is_not_sent(
        make_ctx: Callable[..., PipelineContext], mailbox: tuple[Mailbox, int]) -> None:
    from connector.notices.planning import plan_message_notices
    from connector.notices.records import MessageNotice
    from connector.store.models import Message

    box, _ = mailbox
    today = body_today()
    ctx = make_ctx(Clock(body_noon(today)), new_messages=False, digest_time="23:59")
    message_id = seed(ctx, due=today, pos_id="5550050")
    with ctx.store.sessions.begin() as session:
        assert plan_message_notices(session, ctx.settings.notices, today=today, now=ctx.clock()) == 1
        message = session.get(Message, message_id)
        assert message is not None
        message.state = "answered"  # the answer went to POS in between
    run_job(ctx, "notices")
    assert box.messages == []
    with ctx.store.session() as session:
        assert [n.state for n in session.query(MessageNotice)] == ["skipped"]


def test_a_notice_smtp_refused_every_time_is_in_failures_and_goes_out_after_a_retry(
        make_ctx: Callable[..., PipelineContext], mailbox: tuple[Mailbox, int]) -> None:
    """An operator learns of a warning that never went out where every other failure is, and re-runs it."""
    from connector.ops.failures import list_failures, retry_failures

    box, _ = mailbox
    box.refuse = True
    today = body_today()
    ctx = make_ctx(Clock(body_noon(today)), new_messages=False, digest_time="23:59")
    seed(ctx, due=today + timedelta(days=1), pos_id="5550060")
    for _ in range(ctx.settings.daemon.max_attempts):
        run_job(ctx, "notices")
    assert box.messages == []
    [failure] = list_failures(ctx.store)
    assert (failure.item_kind, failure.pos_id, failure.job) == ("notice", "5550060", "notices")
    assert "554" in failure.reason
    run_job(ctx, "notices")
    assert len(list_failures(ctx.store)) == 1  # given up: not tried again, not recorded twice

    box.refuse = False
    assert retry_failures(ctx.store, [failure.id]).requeued == [failure.id]
    run_job(ctx, "notices")
    assert [s for s in box.subjects() if "5550060" in s] == [
        f"[ПОС] Осталось 1 день: сообщение № 5550060, срок {today + timedelta(days=1):%d.%m.%Y}"]
    assert list_failures(ctx.store) == []
