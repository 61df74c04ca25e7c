"""The gateway's own tables: who may get a token, and the keys tokens are signed with.

``Database(url, metadata=[Base.metadata])`` then ``await db.create_schema()`` creates them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, Integer, String, Text
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
    #: The private JWK (JSON). Whoever reads this table can mint tokens: protect the database.
    jwk: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: Active keys may sign; inactive ones stay published until the tokens they signed expire.
    active: Mapped[bool] = mapped_column(Boolean)
