"""The runtime every Interchange service is built from.

Import from the submodules: ``service_kit.app`` (the factory), ``service_kit.settings``,
``service_kit.auth``, ``service_kit.db``, ``service_kit.http``, ``service_kit.errors``,
``service_kit.idempotency``, ``service_kit.openapi``.
"""
