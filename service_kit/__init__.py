"""The runtime every Interchange service is built from.

Import from the submodules: ``service_kit.app`` (the factory), ``service_kit.settings``,
``service_kit.auth``, ``service_kit.db``, ``service_kit.http`` (the pooled client for the tier
below: timeouts, retries, circuit breaker, pacing), ``service_kit.errors``,
``service_kit.idempotency``, ``service_kit.openapi``, ``service_kit.events`` (the event bus port,
its SQLite-log and Redis-Streams adapters, the transactional outbox and idempotent consumers) and
``service_kit.webhooks`` (signed partner webhooks with SSRF guards and a retry schedule).
"""
