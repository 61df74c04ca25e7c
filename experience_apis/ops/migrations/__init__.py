"""The ops console's database: its migration history (``service_kit.migrations``), one revision a module.

The console keeps no tables of its own, only the kit's every service has (revoked clients, and
the event bookkeeping the kit's workers use). Applied when the service starts and by
``interchange db upgrade ops``; ``interchange db revision ops -m "what changed"`` adds a revision.
"""

from pathlib import Path

from service_kit.migrations import MigrationHistory

HISTORY = MigrationHistory(
    service="ops",
    versions=Path(__file__).parent,
    metadata=(),
    kit_tables=("event_outbox", "event_subject_versions", "processed_events", "revoked_clients"),
)
