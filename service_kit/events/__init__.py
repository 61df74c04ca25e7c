"""The event backbone: a bus port with two adapters, the outbox, and idempotent consumers.

- ``service_kit.events.port``: ``EventBus`` (Protocol), ``Delivery``, ``DeadLetter``, errors;
- ``service_kit.events.factory``: ``open_bus(settings=...)`` picks the adapter from the URL:
  ``sqlite:///var/events.db`` (``sqlite_log.SqliteEventLog``, the embedded default) or
  ``redis://...`` (``redis_streams.RedisStreamsBus``, the scaled deployment);
- ``service_kit.events.envelopes``: ``new_event`` and ``event_data``;
- ``service_kit.events.outbox``: ``add_event`` inside the business transaction, the relay;
- ``service_kit.events.consumer``: ``apply_event`` / ``consume_batch`` / ``run_consumer`` with
  dedupe by event id and ordering by ``entityversion``;
- ``service_kit.events.workers``: ``outbox_relay()`` and ``event_consumer(...)`` as app workers, on
  the worker runtime (``service_kit.workers``): the relay wakes on the commit that staged an event,
  consumers on another process's append (SQLite ``PRAGMA data_version``) or ``XREADGROUP BLOCK``.

Importing this package opens nothing; adapters are imported by ``open_bus`` when needed.
"""

from service_kit.events.consumer import EventHandler, Outcome, apply_event, consume_batch, run_consumer
from service_kit.events.envelopes import event_data, new_event
from service_kit.events.factory import events_url, open_bus
from service_kit.events.outbox import add_event, relay_outbox, run_relay
from service_kit.events.port import DeadLetter, Delivery, EventBus, EventBusError, UnknownDeadLetter

__all__ = [
    "DeadLetter",
    "Delivery",
    "EventBus",
    "EventBusError",
    "EventHandler",
    "Outcome",
    "UnknownDeadLetter",
    "add_event",
    "apply_event",
    "consume_batch",
    "event_data",
    "events_url",
    "new_event",
    "open_bus",
    "relay_outbox",
    "run_consumer",
    "run_relay",
]
