"""The alembic environment of every service: the runner is ``service_kit.migrations.run_environment``."""

from service_kit.migrations import run_environment

run_environment()
