"""The reference WMS's reservations and receipts as synchronous Core over one connection: the
statements of one unit of work (``system_apis.wms.units``), run in one transaction in the
database's thread. Maps the native shape (WH01/WH02, EACH, allocations) to canonical objects.
Stock is taken with one conditional UPDATE per SKU, so the availability check and the increment
cannot be split by a concurrent request; every balance change is versioned, journaled and
announced in the same transaction (``movements.write_movements``)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.exc import IntegrityError

from contracts import (
    InventoryPosition,
    Quantity,
    Reservation,
    ReservationLine,
    ReservationLineCreate,
    ReservationStatus,
)
from contracts.events import MovementKind
from service_kit.errors import BusinessRuleViolation, Conflict
from system_apis.wms.backend import MovementLine, StockShortage
from system_apis.wms.backend import statements as sql
from system_apis.wms.models import ALLOCATED, DEALLOCATED, PICK_RELEASED, PICKED
from system_apis.wms.movements import Movement, write_movements
from system_apis.wms.schemas import StockMovementRead
from system_apis.wms.units import Unit

UNIT_TO_CANONICAL = {"EACH": "EA"}
_UNIT_TO_NATIVE = {canonical: native for native, canonical in UNIT_TO_CANONICAL.items()}
STATUS_TO_CANONICAL = {
    ALLOCATED: ReservationStatus.active,
    DEALLOCATED: ReservationStatus.released,
    PICK_RELEASED: ReservationStatus.picking,
    PICKED: ReservationStatus.picked,
}
_ID = re.compile(r"^RSV-(\d{6,})$")


def reservation_id(alloc_no: int) -> str:
    return f"RSV-{alloc_no:06d}"


def allocation_no(reservation_id: str) -> int | None:
    match = _ID.match(reservation_id)
    return int(match.group(1)) if match else None


def utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _reservations(rows: Sequence[Any]) -> list[Reservation]:
    """Allocation rows (one per line, as ``statements.ALLOCATION_BY_NO`` and its kin answer)."""
    found: dict[int, Reservation] = {}
    for row in rows:
        reservation = found.get(row.alloc_no)
        if reservation is None:
            reservation = found[row.alloc_no] = Reservation(
                id=reservation_id(row.alloc_no),
                reference=row.order_ref,
                status=STATUS_TO_CANONICAL[row.alloc_status],
                warehouse=row.site_code,
                lines=[],
                created_at=utc(row.created_at),
            )
        if row.article is not None:
            unit = UNIT_TO_CANONICAL[row.uom]
            reservation.lines.append(
                ReservationLine(sku=row.article, quantity=Quantity.of(row.qty, unit), warehouse=row.site_code)
            )
    return list(found.values())


def to_movement(row: Any) -> StockMovementRead:
    """A journal row (``statements.JOURNAL_BY_REF``) as the API shows it."""
    return StockMovementRead(
        sku=row.article,
        warehouse=row.site_code,
        movement=MovementKind(row.kind),
        quantity_delta=str(row.qty_delta),
        on_hand=Quantity.of(row.on_hand_after),
        reserved=Quantity.of(row.allocated_after),
        version=row.seq,
        occurred_at=utc(row.occurred_at),
        reference=row.reference,
    )


def _read(movement: Movement) -> StockMovementRead:
    return StockMovementRead(
        sku=movement.sku,
        warehouse=movement.warehouse,
        movement=movement.kind,
        quantity_delta=str(movement.delta),
        on_hand=Quantity.of(movement.on_hand_after),
        reserved=Quantity.of(movement.reserved_after),
        version=movement.version,
        occurred_at=movement.occurred_at,
        reference=movement.reference,
    )


class ReferenceStore:
    """One per unit of work; remembers what it read (warehouse ids, reservations) for the rest
    of the unit, so a pick release reads its reservation once."""

    def __init__(self, unit: Unit) -> None:
        self.unit = unit
        self.conn = unit.conn
        self._whse_ids: dict[str, str] = {}  # site code -> native id
        self._read: dict[str, tuple[str, Reservation]] = {}  # reservation id -> (native whse id, as read)

    def _found(self, stmt: Any, params: dict[str, Any]) -> list[Reservation]:
        rows = self.conn.execute(stmt, params).all()
        reservations = _reservations(rows)
        whse_ids = {row.alloc_no: row.whse_id for row in rows}
        for reservation in reservations:
            self._read[reservation.id] = (whse_ids[allocation_no(reservation.id) or 0], reservation)
        return reservations

    def _whse_id(self, site: str) -> str:
        found = self._whse_ids.get(site) or self.conn.execute(sql.WHSE_ID, {"site": site}).scalar_one_or_none()
        if found is None:
            raise BusinessRuleViolation(f"The WMS has no warehouse {site!r}.")
        self._whse_ids[site] = found
        return str(found)

    # Reservations ----------------------------------------------------------------------------

    def reservation_candidates(self, skus: Sequence[str]) -> tuple[list[str], list[InventoryPosition]]:
        sites: list[str] = []
        positions: list[InventoryPosition] = []
        wanted = sorted(set(skus))
        for row in self.conn.execute(sql.candidates(len(wanted)), {f"s{n}": sku for n, sku in enumerate(wanted)}):
            if row.site_code not in self._whse_ids:
                self._whse_ids[row.site_code] = row.whse_id
                sites.append(row.site_code)
            if row.article is not None:
                unit = UNIT_TO_CANONICAL[row.uom]
                positions.append(
                    InventoryPosition(
                        sku=row.article,
                        warehouse=row.site_code,
                        on_hand=Quantity.of(row.qty_on_hand, unit),
                        reserved=Quantity.of(row.qty_allocated, unit),
                        available=Quantity.of(row.qty_on_hand - row.qty_allocated, unit),
                        updated_at=utc(row.last_movement_at),
                    )
                )
        return sites, positions

    def reserve(self, *, reference: str, warehouse: str, lines: Sequence[ReservationLineCreate]) -> Reservation:
        """Every line in this warehouse; ``StockShortage`` when any line cannot be covered
        (raising rolls the unit back, stock included)."""
        whse_id = self._whse_id(warehouse)
        now = datetime.now(UTC)
        native = [(n, line.sku, int(line.quantity.amount), _native_unit(line)) for n, line in enumerate(lines, 1)]
        totals: dict[str, int] = {}
        for _, article, qty, _ in native:
            totals[article] = totals.get(article, 0) + qty
        short, taken = [], []
        for article, qty in totals.items():
            row = self.conn.execute(sql.TAKE, {"w": whse_id, "a": article, "q": qty, "at": now}).one_or_none()
            if row is None:
                short.append(article)
            else:
                on_hand, allocated, seq = row
                taken.append(
                    Movement(article, warehouse, MovementKind.reservation, qty, on_hand, allocated, seq, now, reference)
                )
        if short:
            raise StockShortage(self._available(whse_id=whse_id, articles=short))
        try:
            alloc_no = self.conn.execute(
                sql.NEW_ALLOCATION,
                {"order_ref": reference, "whse_id": whse_id, "alloc_status": ALLOCATED, "created_at": now},
            ).scalar_one()
        except IntegrityError as exc:
            raise Conflict(
                f"A reservation for reference {reference!r} is being made by another request; "
                "send this one again to get it."
            ) from exc
        self.conn.execute(
            sql.NEW_ALLOCATION_LINE,
            [{"alloc_no": alloc_no, "line_no": n, "article": a, "qty": q, "uom": u} for n, a, q, u in native],
        )
        write_movements(unit=self.unit, whse_id=whse_id, movements=taken)
        return Reservation(
            id=reservation_id(alloc_no),
            reference=reference,
            status=ReservationStatus.active,
            warehouse=warehouse,
            lines=[
                ReservationLine(sku=a, quantity=Quantity.of(q, UNIT_TO_CANONICAL[u]), warehouse=warehouse)
                for _, a, q, u in native
            ],
            created_at=now,
        )

    def _available(self, *, whse_id: str, articles: Sequence[str]) -> dict[str, Decimal]:
        found: dict[str, int] = {
            article: qty
            for article, qty in self.conn.execute(sql.AVAILABLE, {"w": whse_id, "articles": list(articles)})
        }
        return {article: Decimal(found.get(article, 0)) for article in articles}

    def get_reservation(self, reservation_id: str) -> Reservation | None:
        alloc_no = allocation_no(reservation_id)
        if alloc_no is None:
            return None
        found = self._found(sql.ALLOCATION_BY_NO, {"no": alloc_no})
        return found[0] if found else None

    def find_reservations(self, reference: str) -> list[Reservation]:
        return self._found(sql.ALLOCATIONS_BY_REF, {"ref": reference})

    def find_active_reservation(self, reference: str) -> Reservation | None:
        found = self._found(sql.OPEN_ALLOCATION_BY_REF, {"ref": reference})
        return found[0] if found else None

    def _as_read(self, reservation_id: str) -> tuple[str, Reservation] | None:
        """The reservation as this unit read it (reading it when it did not)."""
        if reservation_id not in self._read and self.get_reservation(reservation_id) is None:
            return None
        return self._read[reservation_id]

    def release(self, reservation_id: str) -> Reservation | None:
        """Return the stock of an active reservation; a released one is answered as it is."""
        read = self._as_read(reservation_id)
        if read is None:
            return None
        whse_id, reservation = read
        now = datetime.now(UTC)
        # Only the unit that flips the status returns the stock, so a release never counts twice.
        if self.conn.execute(sql.DEALLOCATE, {"no": allocation_no(reservation_id), "at": now}).first() is None:
            self._read.pop(reservation_id, None)  # moved since it was read: answer it as it is now
            return self.get_reservation(reservation_id)
        totals: dict[str, int] = {}
        for line in reservation.lines:
            totals[line.sku] = totals.get(line.sku, 0) + int(line.quantity.amount)
        given: list[Movement] = []
        for article, qty in totals.items():
            on_hand, allocated, seq = self.conn.execute(
                sql.GIVE_BACK, {"w": whse_id, "a": article, "q": qty, "at": now}
            ).one()
            given.append(
                Movement(
                    article,
                    reservation.warehouse,
                    MovementKind.release,
                    -qty,
                    on_hand,
                    allocated,
                    seq,
                    now,
                    reservation.reference,
                )
            )
        write_movements(unit=self.unit, whse_id=whse_id, movements=given)
        released = reservation.model_copy(update={"status": ReservationStatus.released})
        self._read[reservation_id] = (whse_id, released)
        return released

    def set_floor_status(self, reservation_id: str, *, before: str, after: str) -> Reservation | None:
        """Moves the allocation from ``before`` to ``after`` in one conditional update (so two
        units cannot both move it); answers it as it then is (None when unknown)."""
        read = self._as_read(reservation_id)
        if read is None:
            return None
        whse_id, reservation = read
        params = {"no": allocation_no(reservation_id), "before": before, "after": after}
        if self.conn.execute(sql.MOVE_ALLOCATION, params).first() is None:
            self._read.pop(reservation_id, None)
            return self.get_reservation(reservation_id)
        moved = reservation.model_copy(update={"status": STATUS_TO_CANONICAL[after]})
        self._read[reservation_id] = (whse_id, moved)
        return moved

    # Receipts ---------------------------------------------------------------------------------

    def previous_movements(
        self, *, kind: MovementKind, reference: str, lines: Sequence[MovementLine]
    ) -> list[StockMovementRead] | None:
        """What ``reference`` already booked (None: nothing); ``Conflict`` when that differs."""
        booked = [
            to_movement(row) for row in self.conn.execute(sql.JOURNAL_BY_REF, {"kind": kind.value, "ref": reference})
        ]
        if not booked:
            return None
        if sorted((m.sku, m.warehouse, int(m.quantity_delta)) for m in booked) != sorted(lines) and kind != (
            MovementKind.cycle_count
        ):
            raise Conflict(f"The {kind.value} {reference!r} was booked with other lines.")
        return booked

    def receive(self, *, reference: str, warehouse: str, lines: Sequence[MovementLine]) -> list[StockMovementRead]:
        """All lines in one upsert (``statements.RECEIVE``), journaled and announced together."""
        whse_id = self._whse_id(warehouse)
        now = datetime.now(UTC)
        rows = [
            {
                "whse_id": whse_id,
                "article": sku,
                "uom": "EACH",
                "qty_on_hand": qty,
                "qty_allocated": 0,
                "last_movement_at": now,
                "movement_seq": 1,
            }
            for sku, _, qty in lines
        ]
        try:
            balances = {
                sku: (on_hand, allocated, seq)
                for sku, on_hand, allocated, seq in self.conn.execute(sql.RECEIVE[self.conn.dialect.name], rows)
            }
            booked = []
            for sku, _, qty in lines:
                on_hand, allocated, seq = balances[sku]
                booked.append(
                    Movement(sku, warehouse, MovementKind.receipt, qty, on_hand, allocated, seq, now, reference)
                )
            write_movements(unit=self.unit, whse_id=whse_id, movements=booked)
        except IntegrityError as exc:  # the same reference booked by a concurrent request
            raise Conflict(
                f"The {MovementKind.receipt.value} {reference!r} is being booked by another request; send it again."
            ) from exc
        return [_read(m) for m in booked]


def _native_unit(line: ReservationLineCreate) -> str:
    unit = _UNIT_TO_NATIVE.get(line.quantity.unit)
    if unit is None:
        raise BusinessRuleViolation(f"The WMS does not reserve {line.sku} in {line.quantity.unit}.")
    return unit


__all__ = ["ReferenceStore", "allocation_no", "reservation_id", "to_movement"]
