"""Tables of the rubric mapping (migration 0002): classifier editions, POS categories, mapping versions.

Registered on the store's declarative ``Base`` so alembic sees them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from connector.store.models import Base, utcnow


class ClassifierEdition(Base):
    __tablename__ = "classifier_editions"
    __table_args__ = (UniqueConstraint("label", name="uq_classifier_editions_label"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    label: Mapped[str] = mapped_column(String(64))
    source_file: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    node_count: Mapped[int] = mapped_column(Integer)
    is_current: Mapped[bool] = mapped_column(Boolean, default=False)
    report: Mapped[dict[str, Any] | None]
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)


class ClassifierNodeRow(Base):
    __tablename__ = "classifier_nodes"
    __table_args__ = (UniqueConstraint("edition_id", "code", name="uq_classifier_nodes_edition_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    edition_id: Mapped[int] = mapped_column(ForeignKey("classifier_editions.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(24))
    name: Mapped[str] = mapped_column(Text)
    level: Mapped[int] = mapped_column(Integer)
    parent_code: Mapped[str | None] = mapped_column(String(24))


class PosCategoryRow(Base):
    """The POS category list last used for a template (replaced as a whole)."""

    __tablename__ = "pos_categories"
    __table_args__ = (UniqueConstraint("category_id", name="uq_pos_categories_category_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    category_id: Mapped[str] = mapped_column(String(128))
    parent_id: Mapped[str | None] = mapped_column(String(128))
    level: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class MappingVersion(Base):
    __tablename__ = "mapping_versions"
    __table_args__ = (UniqueConstraint("number", name="uq_mapping_versions_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    file_name: Mapped[str] = mapped_column(Text)
    edition_id: Mapped[int] = mapped_column(ForeignKey("classifier_editions.id"))
    row_count: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MappingRowRecord(Base):
    __tablename__ = "mapping_rows"
    __table_args__ = (UniqueConstraint("version_id", "category_id", name="uq_mapping_rows_version_category"),
                      Index("ix_mapping_rows_version", "version_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("mapping_versions.id", ondelete="CASCADE"))
    category_id: Mapped[str] = mapped_column(String(128))
    category_path: Mapped[str] = mapped_column(Text)
    code: Mapped[str] = mapped_column(String(24))
    comment: Mapped[str] = mapped_column(Text, default="")


class MappingExport(Base):
    """Which mapping version and edition each exported workbook carried."""

    __tablename__ = "mapping_exports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int | None] = mapped_column(ForeignKey("mapping_versions.id"))
    edition_id: Mapped[int | None] = mapped_column(ForeignKey("classifier_editions.id"))
    file_name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16))  # template | export
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
