"""Realistic, deterministic content for the POS simulator: categories, people, texts, files.

Attachment bytes are never stored: :func:`attachment_chunks` regenerates them on the fly
from (appeal id, file id, size), so a 30 MB file costs nothing until it is downloaded.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

from connector.pos_client.wire import WireCategory

# Категория → Подкатегория → Факты.  Names repeat across branches on purpose
# («Освещение», «Не работает освещение», «Задержка выплаты», «Медицинская карта»):
# POS identifies categories by id/path, never by name alone.
CATEGORY_TREE: dict[str, dict[str, list[str]]] = {
    "Автомобильные дороги": {"Ямы и выбоины": ["Яма на дороге", "Разрушение асфальта"],
                             "Освещение": ["Не работает освещение"]},
    "Многоквартирные дома": {"Содержание общего имущества": ["Протечка кровли", "Уборка подъездов"],
                             "Капитальный ремонт": ["Ремонт фасада", "Замена лифта"]},
    "Дворы и территории общего пользования": {"Детские площадки": ["Сломано оборудование"],
                                              "Освещение": ["Не работает освещение"]},
    "Медицина": {"Медицинская карта": ["Медицинская карта"], "Запись к врачу": ["Нет записи к врачу"]},
    "Образование": {"Детские сады": ["Очередь в детский сад"], "Школы": ["Питание в школе"]},
    "Мусор": {"Вывоз ТКО": ["Переполнены контейнеры"], "Несанкционированные свалки": ["Свалка мусора"]},
    "Общественный транспорт": {"Маршруты": ["Нарушение расписания"], "Остановки": ["Ремонт остановки"]},
    "Благоустройство": {"Озеленение": ["Покос травы", "Вырубка деревьев"],
                        "Освещение": ["Не работает освещение"]},
    "Теплоснабжение": {"Отопление": ["Нет отопления", "Низкая температура в квартире"]},
    "Водоснабжение": {"Холодная вода": ["Нет холодной воды"], "Горячая вода": ["Нет горячей воды"]},
    "Электроснабжение": {"Отключение электроэнергии": ["Нет света"]},
    "Выплаты и пособия": {"Пособия на детей": ["Задержка выплаты"], "Социальные выплаты": ["Задержка выплаты"]},
}


def build_categories() -> list[WireCategory]:
    """The classifier with stable ids: ``c03``, ``c03.02``, ``c03.02.01``."""
    out: list[WireCategory] = []
    for i, (top, subs) in enumerate(CATEGORY_TREE.items(), start=1):
        cid = f"c{i:02d}"
        out.append(WireCategory(id=cid, parent_id=None, level=1, name=top))
        for j, (sub, facts) in enumerate(subs.items(), start=1):
            sid = f"{cid}.{j:02d}"
            out.append(WireCategory(id=sid, parent_id=cid, level=2, name=sub))
            for k, fact in enumerate(facts, start=1):
                out.append(WireCategory(id=f"{sid}.{k:02d}", parent_id=sid, level=3, name=fact))
    return out


SURNAMES = [("Иванов", "Иванова"), ("Смирнов", "Смирнова"), ("Кузнецов", "Кузнецова"), ("Попов", "Попова"),
            ("Соколов", "Соколова"), ("Лебедев", "Лебедева"), ("Новиков", "Новикова"), ("Морозов", "Морозова"),
            ("Волков", "Волкова"), ("Соловьёв", "Соловьёва"), ("Зайцев", "Зайцева"), ("Семёнов", "Семёнова"),
            ("Виноградов", "Виноградова"), ("Жуков", "Жукова"), ("Белых", "Белых"), ("Шевченко", "Шевченко"),
            ("Толстой", "Толстая"), ("Орлов", "Орлова")]
MALE_NAMES = ["Александр", "Дмитрий", "Сергей", "Андрей", "Алексей", "Михаил", "Иван", "Николай", "Павел", "Егор"]
FEMALE_NAMES = ["Елена", "Ольга", "Наталья", "Татьяна", "Анна", "Мария", "Ирина", "Светлана", "Юлия", "Дарья"]
# father's name → (patronymic of a son, of a daughter)
PATRONYMICS = [("Иванович", "Ивановна"), ("Петрович", "Петровна"), ("Сергеевич", "Сергеевна"),
               ("Александрович", "Александровна"), ("Николаевич", "Николаевна"), ("Викторович", "Викторовна"),
               ("Андреевич", "Андреевна"), ("Ильич", "Ильинична"), ("Юрьевич", "Юрьевна")]
CITY = "г. Тверь"
STREETS = ["ул. Советская", "пр-т Победы", "ул. Вагжанова", "Смоленский пер.", "ул. Радищева", "б-р Цанова",
           "ул. Орджоникидзе", "наб. Афанасия Никитина"]
TEXTS: dict[str, list[str]] = {
    "Автомобильные дороги": ["На участке дороги {addr} образовалась глубокая яма, машины объезжают по встречной.",
                             "Прошу отремонтировать покрытие проезжей части {addr}, асфальт разрушен."],
    "Многоквартирные дома": ["В доме {addr} течёт крыша, после дождя вода в подъезде.",
                             "Управляющая компания не убирает подъезд {addr} уже месяц."],
    "Дворы и территории общего пользования": ["Во дворе {addr} сломаны качели, дети могут пострадать.",
                                              "Во дворе {addr} не горят фонари, вечером темно."],
    "Медицина": ["В поликлинике не могу получить медицинскую карту, прошу разобраться.",
                 "Запись к терапевту закрыта на две недели вперёд."],
    "Образование": ["Ребёнок третий год в очереди в детский сад, прошу сообщить сроки.",
                    "В школе детей кормят холодной едой, прошу проверить столовую."],
    "Мусор": ["Контейнеры {addr} переполнены, мусор не вывозят неделю.",
              "Рядом с {addr} образовалась несанкционированная свалка."],
    "Общественный транспорт": ["Автобус не ходит по расписанию, на остановке {addr} ждём по 40 минут.",
                               "Павильон остановки {addr} разбит, прошу отремонтировать."],
    "Благоустройство": ["Трава {addr} не кошена всё лето.", "У дома {addr} не работает освещение."],
    "Теплоснабжение": ["В квартире {addr} батареи холодные, температура 16 градусов.",
                       "В доме {addr} нет отопления с начала сезона."],
    "Водоснабжение": ["В доме {addr} третий день нет горячей воды.", "По адресу {addr} нет холодной воды."],
    "Электроснабжение": ["В доме {addr} регулярно отключают свет без предупреждения."],
    "Выплаты и пособия": ["Не поступило пособие на ребёнка за прошлый месяц.",
                          "Задерживают социальную выплату, прошу разобраться."],
}
SOURCES = ["ЕПГУ", "Виджет ПОС", "Мобильное приложение Госуслуги.Решаем вместе"]
ATTACHMENT_NAMES = ["Фото двора №3.jpg", "скан заявления (1).pdf", "IMG_20240512_101530.jpg", "Акт осмотра.docx",
                    "фото ямы.png", "ответ УК.pdf", "документ «копия».pdf", "Справка 2-НДФЛ.pdf"]
MIME_BY_EXT = {".jpg": "image/jpeg", ".png": "image/png", ".pdf": "application/pdf",
               ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
               ".zip": "application/zip"}
_TRANSLIT = dict(zip("абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
                     ["a", "b", "v", "g", "d", "e", "e", "zh", "z", "i", "y", "k", "l", "m", "n", "o", "p", "r",
                      "s", "t", "u", "f", "kh", "ts", "ch", "sh", "shch", "", "y", "", "e", "yu", "ya"], strict=True))


def translit(text: str) -> str:
    return "".join(_TRANSLIT.get(c, c) for c in text.lower())


def mime_for(name: str) -> str:
    dot = name.rfind(".")
    return MIME_BY_EXT.get(name[dot:].lower(), "application/octet-stream") if dot >= 0 else "application/octet-stream"


@dataclass(frozen=True)
class Person:
    last_name: str
    first_name: str
    middle_name: str
    email: str
    phone: str
    address: str


def person(rng: random.Random) -> Person:
    female = rng.random() < 0.5
    surname = rng.choice(SURNAMES)[1 if female else 0]
    first = rng.choice(FEMALE_NAMES if female else MALE_NAMES)
    middle = rng.choice(PATRONYMICS)[1 if female else 0]
    email = f"{translit(first)[0]}.{translit(surname)}{rng.randint(1, 999)}@{rng.choice(['mail.ru', 'yandex.ru'])}"
    phone = f"+7 9{rng.randint(0, 99):02d} {rng.randint(0, 999):03d}-{rng.randint(0, 99):02d}-{rng.randint(0, 99):02d}"
    return Person(surname, first, middle, email, phone, street_address(rng, flat=True))


def street_address(rng: random.Random, *, flat: bool = False) -> str:
    addr = f"{CITY}, {rng.choice(STREETS)}, д. {rng.randint(1, 120)}"
    return f"{addr}, кв. {rng.randint(1, 240)}" if flat else addr


def pick_category(rng: random.Random, categories: list[WireCategory]) -> tuple[WireCategory, ...]:
    """A (category, subcategory, fact) path of the classifier."""
    facts = [c for c in categories if c.level == 3]
    fact = rng.choice(facts)
    by_id = {c.id: c for c in categories}
    sub = by_id[fact.parent_id or ""]
    return by_id[sub.parent_id or ""], sub, fact


def appeal_text(rng: random.Random, category: str, problem_address: str) -> str:
    return rng.choice(TEXTS.get(category, ["Прошу рассмотреть моё обращение."])).format(addr=problem_address)


BLOCK = 1 << 16


def attachment_chunks(appeal_id: str, file_id: str, size: int, limit: int | None = None) -> Iterator[bytes]:
    """The content of an attachment, deterministic from (appeal, file, size), 64 KiB at a time.

    ``limit`` stops after that many bytes (a truncated download)."""
    end = size if limit is None else min(size, limit)
    sent = 0
    index = 0
    while sent < end:
        block = random.Random(f"{appeal_id}/{file_id}/{size}/{index}").randbytes(BLOCK)
        block = block[: end - sent]
        sent += len(block)
        index += 1
        yield block
