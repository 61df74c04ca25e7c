"""The reference CRM's own tables, in its native shape (PascalCase fields, segments, flags), as a
real CRM keeps them; backend/reference.py maps them to canonical objects."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class CrmAccount(Base):
    __tablename__ = "crm_accounts"

    AccountId: Mapped[str] = mapped_column(String(32), primary_key=True)
    ErpCustomerNo: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    AccountName: Mapped[str] = mapped_column(String(200))
    Segment: Mapped[str] = mapped_column(String(20))  # "Consumer" | "Business"
    IsActive: Mapped[bool] = mapped_column(Boolean, default=True)
    PrimaryEmail: Mapped[str | None] = mapped_column(String(200), nullable=True)
    CurrencyIsoCode: Mapped[str] = mapped_column(String(3))


class CrmActivity(Base):
    __tablename__ = "crm_activities"

    ActivityId: Mapped[str] = mapped_column(String(40), primary_key=True)
    AccountId: Mapped[str] = mapped_column(ForeignKey("crm_accounts.AccountId"), index=True)
    Type: Mapped[str] = mapped_column(String(40))
    Subject: Mapped[str] = mapped_column(String(200))
    # Indexed: an activity batch looks its references up (recorded once per customer, kind, reference).
    ExternalRef: Mapped[str | None] = mapped_column(String(100), nullable=True, index=True)
    CreatedDate: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CrmNotice(Base):
    """A message the CRM sent (or queued for) a customer: shipped goods with their tracking, a credit
    memo for returned goods. One per notice type and external reference."""

    __tablename__ = "crm_notices"
    __table_args__ = (UniqueConstraint("NoticeType", "ExternalRef", name="uq_crm_notices_type_ref"),)

    NoticeId: Mapped[str] = mapped_column(String(40), primary_key=True)
    AccountId: Mapped[str] = mapped_column(ForeignKey("crm_accounts.AccountId"), index=True)
    NoticeType: Mapped[str] = mapped_column(String(20))  # "ShipmentNotice" | "CreditMemoNotice"
    ExternalRef: Mapped[str] = mapped_column(String(129))
    Channel: Mapped[str] = mapped_column(String(10))  # "Email": to the account's primary e-mail
    Recipient: Mapped[str | None] = mapped_column(String(200), nullable=True)
    Body: Mapped[str] = mapped_column(Text)
    CreatedDate: Mapped[datetime] = mapped_column(DateTime(timezone=True))
