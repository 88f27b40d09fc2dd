"""Appeals of every channel in the Directum simulator: letters, reception, forwarded, several questions.

``POST /_sim/seed {"appeals": [...]}`` creates or updates (by the seed's ``key``, or by ``pos_id`` for the
letter of a POS message the adapter created) incoming letters of an appeal kind with question rows in the
``Questions`` collection (names in ``directum_rx/wire.py``, [UNSEEN] in real RX).  The seed format is the
1С simulator's (``connector/simulators/onec/appeals.py``; samples in ``appeal_samples.py``).  Seeding again
replaces the questions; an answer already written for a question is kept.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from connector.edms_adapters.directum_rx import wire

if TYPE_CHECKING:
    from connector.simulators.directum.state import DirectumState


def seed_appeals(state: DirectumState, items: list[Any]) -> dict[str, Any]:
    created, updated = [], []
    with state.lock:
        for item in items:
            if not isinstance(item, dict):
                raise ValueError(f"an appeal is an object, got {item!r}")
            letter_id = _existing(state, item)
            if letter_id is None:
                letter_id = _create(state, item)
                created.append(letter_id)
            else:
                updated.append(letter_id)
            _apply(state, letter_id, item)
    return {"created": created, "updated": updated}


def _by_name(state: DirectumState, set_name: str, name: str) -> int:
    for entity_id, entity in state.entities[set_name].items():
        if entity.get(wire.P_NAME) == name:
            return entity_id
    return state._insert(set_name, {wire.P_NAME: name, wire.P_STATUS: wire.STATUS_ACTIVE})


def _existing(state: DirectumState, item: dict[str, Any]) -> int | None:
    letters = state.entities[wire.S_INCOMING]
    if item.get("key") and str(item["key"]) in state.appeal_keys:
        return state.appeal_keys[str(item["key"])]
    pos_id = str(item.get("pos_id") or "")
    if pos_id:
        found = next((i for i, e in letters.items() if str(e.get(state.names.pos_id_property)) == pos_id), None)
        if found is None:
            raise ValueError(f"no letter of POS message {pos_id} (register it first)")
        return found
    return None


def _create(state: DirectumState, item: dict[str, Any]) -> int:
    person = state._insert(wire.S_PERSONS, {wire.P_LAST_NAME: "Заявитель", wire.P_NAME: "Заявитель",
                                            wire.P_STATUS: wire.STATUS_ACTIVE})
    letter_id = state.create(wire.S_INCOMING, {
        wire.P_SUBJECT: str(item.get("title") or "Обращение гражданина"),
        f"{wire.P_CORRESPONDENT}@odata.bind": wire.key(wire.S_PERSONS, person),
        **{f"{nav}@odata.bind": wire.key(target, 1) for nav, target in state.schema[wire.S_INCOMING][1].items()
           if nav in (wire.P_DOCUMENT_KIND, wire.P_BUSINESS_UNIT, wire.P_DEPARTMENT)}})
    if item.get("key"):
        state.appeal_keys[str(item["key"])] = letter_id
    return letter_id


def _apply(state: DirectumState, letter_id: int, item: dict[str, Any]) -> None:
    letter = state.entities[wire.S_INCOMING][letter_id]
    links = state.links[(wire.S_INCOMING, letter_id)]
    links[wire.P_DOCUMENT_KIND] = (wire.S_DOCUMENT_KINDS, _by_name(state, wire.S_DOCUMENT_KINDS,
                                                                   str(item.get("kind") or "Обращение гражданина")))
    if item.get("delivery"):
        links[wire.P_DELIVERY_METHOD] = (wire.S_DELIVERY_METHODS,
                                         _by_name(state, wire.S_DELIVERY_METHODS, str(item["delivery"])))
    forwarded = item.get("forwarded") if isinstance(item.get("forwarded"), dict) else None
    letter.update({"ApplicantName": item.get("applicant"), "ApplicantAddress": item.get("address"),
                   "ApplicantEmail": item.get("email"), "NotForSstu": bool(item.get("no_sstu")),
                   "ForwardedFrom": forwarded.get("body") if forwarded else None})
    if forwarded:
        letter[wire.P_IN_NUMBER] = forwarded.get("number")
        letter[wire.P_DATED] = f"{forwarded['date']}T00:00:00+03:00" if forwarded.get("date") else None
    key = (wire.S_INCOMING, letter_id, wire.P_QUESTIONS)
    before = [state.entities[_rows_set()][i] for i in state.children.get(key, [])]
    state.children[key] = []
    for index, q in enumerate(item.get("questions") or []):
        _question(state, letter_id, q, before[index] if index < len(before) else None, index)


def _rows_set() -> str:
    from connector.simulators.directum.state import QUESTION_ROWS

    return QUESTION_ROWS


def _question(state: DirectumState, letter_id: int, q: Any, before: dict[str, Any] | None, index: int) -> None:
    if not isinstance(q, dict):
        raise ValueError(f"a question is an object, got {q!r}")
    values: dict[str, Any] = {wire.Q_RUBRIC: q.get("rubric"), wire.Q_SUMMARY: q.get("summary") or f"Вопрос {index + 1}",
                              wire.Q_RESULT: q.get("result")}
    links: dict[str, tuple[str, int]] = {}
    if q.get("executor"):
        links[wire.Q_ASSIGNEE] = (wire.S_EMPLOYEES, state._employee(str(q["executor"])))
    redirect = q.get("redirect") if isinstance(q.get("redirect"), dict) else None
    if redirect:
        values[wire.Q_RESULT] = values[wire.Q_RESULT] or state.names.redirect_result
        values.update({wire.Q_REDIRECT_ORG: redirect.get("organization"), wire.Q_REDIRECT_NUMBER: redirect.get("number"),
                       wire.Q_REDIRECT_DATE: f"{redirect['date']}T00:00:00+03:00" if redirect.get("date") else None})
    if q.get("answer"):
        earlier = state.link(_rows_set(), int(before[wire.P_ID]), wire.Q_ANSWER) if before else None
        links[wire.Q_ANSWER] = earlier or (wire.S_OUTGOING, _answer(state, letter_id, q["answer"] if isinstance(
            q["answer"], dict) else {}, index))
        values[wire.Q_RESULT] = values[wire.Q_RESULT] or state.names.answered_result
    if before is None:
        state.add_row(wire.S_INCOMING, letter_id, wire.P_QUESTIONS, values, links)
        return
    row_id = int(before[wire.P_ID])  # the same row, edited: RX keeps a collection row's Id
    before.update({name: None for name in (wire.Q_REDIRECT_ORG, wire.Q_REDIRECT_NUMBER, wire.Q_REDIRECT_DATE)})
    before.update(values)
    state.links[(_rows_set(), row_id)] = links
    state.children[(wire.S_INCOMING, letter_id, wire.P_QUESTIONS)].append(row_id)


def _answer(state: DirectumState, letter_id: int, body: dict[str, Any], index: int) -> int:
    """An outgoing letter for one question: registered, with a PDF version, and no InResponseTo link (the
    letter's own answer, which POS gets, stays the one of ``act answer``)."""
    text = str(body.get("text") or "Уважаемый заявитель! По вопросу вашего обращения дано разъяснение.")
    stem, _ext = wire.split_extension(str(body.get("file_name") or f"Ответ на вопрос {index + 1}.pdf"))
    answer_id = state.create(wire.S_OUTGOING, {wire.P_SUBJECT: text, wire.P_NAME: stem,
                                               wire.P_IS_MANY_RESPONSES: False})
    state.attach_version(letter_id, answer_id, {"file_name": f"{stem}.pdf"})
    return answer_id
