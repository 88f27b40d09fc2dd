"""Appeal cards of every channel in the 1С simulator: letters, reception, forwarded, several questions.

``POST /_sim/seed {"appeals": [...]}`` creates or updates (by ``id``, or by ``pos_id`` for the card of a
POS message the adapter created) incoming documents of an appeal kind whose questions are rendered as
``questions`` elements (see ``onec_dm/wire.py``).  Each appeal::

    {"key": "<the seed's name>"?, "id": "<uuid>"?, "pos_id": "<POS id>"?, "kind": "Обращение гражданина", "delivery": "Письменная форма",
     "applicant": "Петров Пётр Петрович", "address": "…", "email": "…", "no_sstu": false,
     "forwarded": {"body": "Правительство края", "number": "01-12/345", "date": "YYYY-MM-DD"}?,
     "questions": [{"rubric": "0005.0005.0056.1149", "summary": "…", "executor": "Иванов И. И.",
                    "result": "Разъяснено", "answer": {"text": "…", "file_name": "Ответ.pdf"}?,
                    "redirect": {"organization": "…", "number": "…", "date": "YYYY-MM-DD"}?}]}

Seeding the same appeal again replaces its questions (a question added later, a redirect, an answer);
answers already written for a question are kept, so a re-seed never duplicates them.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from connector.edms_adapters.onec_dm import wire

if TYPE_CHECKING:
    from connector.simulators.onec.state import Doc, OnecState

# Property names: the defaults of OnecAppealSettings
DELIVERY = "Форма поступления"
FORWARDED_FROM = "Поступило из органа"
APPLICANT = "Заявитель"
ADDRESS = "Адрес заявителя"
EMAIL = "Электронная почта заявителя"
NO_SSTU = "Не выгружать в ССТУ"
KIND_TYPE = "DMIncomingDocumentType"


def seed_appeals(state: OnecState, items: list[Any]) -> dict[str, Any]:
    created, updated = [], []
    with state.lock:
        for item in items:
            if not isinstance(item, dict):
                raise ValueError(f"an appeal is an object, got {item!r}")
            doc = _existing(state, item)
            if doc is None:
                doc = state.create_doc(_new_doc(state, item))
                created.append(doc.id)
            else:
                updated.append(doc.id)
            _apply(state, doc, item)
    return {"created": created, "updated": updated}


def _id_of(item: dict[str, Any]) -> str:
    """``id``, or one derived from the seed's own ``key`` (so seeding a key again updates its card)."""
    if item.get("id"):
        return str(item["id"])
    return str(uuid.uuid5(wire.OBJECT_ID_NAMESPACE, f"sim-appeal:{item['key']}")) if item.get("key") else ""


def _existing(state: OnecState, item: dict[str, Any]) -> Doc | None:
    if _id_of(item) in state.docs:
        return state.docs[_id_of(item)]
    pos_id = str(item.get("pos_id") or "")
    if pos_id:
        found = [d for d in state.docs.values() if (d.external or {}).get("id") == pos_id]
        if not found:
            raise ValueError(f"no card of POS message {pos_id} (register it first)")
        return found[0]
    return None


def _new_doc(state: OnecState, item: dict[str, Any]) -> Doc:
    from connector.simulators.onec.state import Doc

    title = str(item.get("title") or "Обращение гражданина")
    return Doc(id=_id_of(item), type=state.names.incoming_type, name=title, title=title,
               summary=str(item.get("summary") or title))


def _apply(state: OnecState, doc: Doc, item: dict[str, Any]) -> None:
    kind = str(item.get("kind") or "Обращение гражданина")
    doc.refs["documentType"] = {"id": state.new_id() if "documentType" not in doc.refs else
                                doc.refs["documentType"]["id"], "type": KIND_TYPE, "name": kind}
    props = {DELIVERY: item.get("delivery"), APPLICANT: item.get("applicant"), ADDRESS: item.get("address"),
             EMAIL: item.get("email"), NO_SSTU: "Да" if item.get("no_sstu") else None}
    forwarded = item.get("forwarded")
    if isinstance(forwarded, dict):
        props[FORWARDED_FROM] = forwarded.get("body")
        doc.incoming_number = str(forwarded.get("number") or "")
        doc.incoming_date = f"{forwarded['date']}T00:00:00" if forwarded.get("date") else ""
        doc.refs["correspondent"] = {"id": state.new_id(), "type": "DMCorrespondent",
                                     "name": str(forwarded.get("body") or "")}
    elif item.get("applicant"):
        doc.refs["correspondent"] = {"id": state.new_id(), "type": "DMCorrespondent", "name": str(item["applicant"])}
    for name, value in props.items():
        if value:
            doc.properties[name] = str(value)
        else:
            doc.properties.pop(name, None)
    previous = list(getattr(doc, "questions", []))
    doc.questions = [_question(state, doc, q, previous[i] if i < len(previous) else {}, i)
                     for i, q in enumerate(item.get("questions") or [])]


def _question(state: OnecState, doc: Doc, q: Any, before: dict[str, str], index: int) -> dict[str, str]:
    if not isinstance(q, dict):
        raise ValueError(f"a question is an object, got {q!r}")
    row = {"id": before.get("id") or state.new_id(), wire.Q_RUBRIC: str(q.get("rubric") or ""),
           wire.Q_SUMMARY: str(q.get("summary") or f"Вопрос {index + 1}"),
           wire.Q_EXECUTOR: str(q.get("executor") or ""), wire.Q_RESULT: str(q.get("result") or "")}
    redirect = q.get("redirect")
    if isinstance(redirect, dict):
        row[wire.Q_RESULT] = row[wire.Q_RESULT] or state.names.redirect_result
        row[wire.Q_REDIRECT_ORG] = str(redirect.get("organization") or "")
        row[wire.Q_REDIRECT_NUMBER] = str(redirect.get("number") or "")
        row[wire.Q_REDIRECT_DATE] = f"{redirect['date']}T00:00:00" if redirect.get("date") else ""
    answer = q.get("answer")
    if answer:
        row[wire.Q_ANSWER] = before.get(wire.Q_ANSWER) or _answer(state, doc, answer if isinstance(answer, dict)
                                                                  else {}, index)
        row[wire.Q_RESULT] = row[wire.Q_RESULT] or state.names.answered_result
    return row


def _answer(state: OnecState, doc: Doc, body: dict[str, Any], index: int) -> str:
    from connector.simulators.onec.state import Doc

    label = doc.reg_number or doc.id
    answer = state.create_doc(Doc(
        id="", type=state.names.answer_type, name=f"Ответ на вопрос {index + 1} обращения {label}",
        title=f"Ответ на вопрос {index + 1} обращения {label}",
        summary=str(body.get("text") or "Уважаемый заявитель! По вопросу вашего обращения сообщаем: "
                                        "вопрос рассмотрен, дано разъяснение."),
        signer=str(body.get("signer") or "Смирнова Елена Викторовна"),
        properties={f"{state.names.answer_link_property} (вопрос)": doc.id}))
    state.attach_file(answer, label, {"file_name": body.get("file_name") or f"Ответ на вопрос {index + 1}.pdf"})
    return answer.id
