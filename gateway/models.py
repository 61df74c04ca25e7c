"""The gateway's own tables: who may get a token, the keys tokens are signed with, when a version
was first seen deprecated, and the audit log of proxied calls.

``Database(url, metadata=[Base.metadata])`` then ``await db.create_schema()`` creates them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, Float, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class OAuthClient(Base):
    __tablename__ = "oauth_clients"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: ``sha256:<hex>`` of the secret; the secret itself is shown once and never stored.
    secret_hash: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))  # partner | service | internal
    partner_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    channel: Mapped[str | None] = mapped_column(String(64), nullable=True)
    #: Space-separated, as in the token's ``scope`` claim.
    scopes: Mapped[str] = mapped_column(Text)
    tier: Mapped[str] = mapped_column(String(32))
    enabled: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SigningKey(Base):
    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: 1, 2, 3... in order of creation. Unique, so two workers that start on an empty database at
    #: once cannot both add "the first key": one insert wins and both sign with the same key.
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    #: The private JWK (JSON), sealed with the suite's secrets key (``fernet:...``, see
    #: ``service_kit.secrets``): the database alone does not give the key.
    jwk: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: Active keys may sign; inactive ones stay published until the tokens they signed expire.
    active: Mapped[bool] = mapped_column(Boolean)


class ApiDeprecation(Base):
    """When this gateway first saw a version marked deprecated without a date of its own: the
    date its ``Deprecation`` header gives (versions.py), the same for every worker and restart."""

    __tablename__ = "api_deprecations"

    api: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[str] = mapped_column(String(16), primary_key=True)
    first_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AuditRecord(Base):
    """One proxied call (audit.py): who called which operation of which version, and how it went."""

    __tablename__ = "audit_records"
    __table_args__ = (Index("ix_audit_records_client_at", "client_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: Seconds since the epoch (UTC) when the call arrived.
    at: Mapped[float] = mapped_column(Float, index=True)
    client_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    partner_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    method: Mapped[str] = mapped_column(String(16))
    api: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(16))
    #: The operation's id in the contract; ``None`` when the call matched none (404, 405).
    operation: Mapped[str | None] = mapped_column(String(128), nullable=True)
    #: The path template of the operation, or the path as asked when it matched none.
    path: Mapped[str] = mapped_column(String(512))
    status: Mapped[int] = mapped_column(Integer, index=True)
    latency_ms: Mapped[float] = mapped_column(Float)
    correlation_id: Mapped[str] = mapped_column(String(128))
