"""A small durable-saga runtime shared by the process APIs (moved out of ``process_apis.orders``).

A saga here is a row of the service's own table that carries its own progress: the next step
(``saga_step``), whether it is running (``saga_active``), when it is next due (``next_attempt_at``,
also the lease of the worker that claimed it) and by whom (``claimed_by``). The pieces:

- ``claims``: claim due rows several at a time with a lease (a conditional update, so two workers
  never hold the same row), and release this worker's claims at start-up after a crash;
- ``retry``: the retry policy (jittered exponential backoff stored on the row, then parking);
- ``passes``: one worker pass, N runners advancing claimed rows, woken by new work, stopping
  between two rows when the service stops (on ``service_kit.workers``' runtime);
- ``exceptions``: the exception queue's row state (park with a reason, replay from the failed
  step) and the audit row of each replay;
- ``injection``: test-only injection points (a named place where the process stops itself).

What stays in each service: its step table (what each step calls below and what its outcome does
to the row), its lifecycle and events. Orders keeps its batched Core writes (``flows.recorder``)
and its status-bound exception queue (on_hold/held_from, credit reviews): they are specific to it.
"""
