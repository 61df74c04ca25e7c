"""structlog's ``capture_logs`` sees only loggers bound after it starts: the kit configures
``cache_logger_on_first_use``, so a module's logger already used by an earlier test in the same
process keeps the processors it was bound with and logs past the capture (a test that passes alone
fails after another one). ``fresh_logger`` gives the module a new, unbound logger for the test."""

from __future__ import annotations

from types import ModuleType

import pytest
import structlog


def fresh_logger(monkeypatch: pytest.MonkeyPatch, module: ModuleType, name: str = "log") -> None:
    monkeypatch.setattr(module, name, structlog.get_logger(module.__name__))


__all__ = ["fresh_logger"]
