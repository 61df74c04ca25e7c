"""``interchange up`` starts the reference shop beside the storefront and wires both sides: one
webhook secret, generated once into the owner-only secrets file (or the one set), given to both;
the shop delivers to the storefront's webhook endpoint, the storefront pushes levels to the shop."""

from __future__ import annotations

import io
import json
import stat
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from interchange import reference_shop
from interchange.launcher import Suite
from interchange.scale import ScaledMode
from interchange.scale_suite import ScaledSuite


@pytest.fixture(autouse=True)
def _no_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "INTERCHANGE_STOREFRONT_WEBHOOK_SECRET",
        "INTERCHANGE_SHOP_PORT",
        "INTERCHANGE_STOREFRONT_PORT",
        "INTERCHANGE_STOREFRONT_ADMIN_URL",
    ):
        monkeypatch.delenv(name, raising=False)


def suite(data_dir: Path, *, only: frozenset[str] | None = None) -> Suite:
    return Suite(
        data_dir=data_dir, host="127.0.0.1", free_ports=True, seed=False, console=Console(file=io.StringIO()), only=only
    )


def test_the_shop_is_started_with_the_storefront_and_both_sides_are_wired(tmp_path: Path) -> None:
    s = suite(tmp_path)
    shop = next(r for r in s.services if r.info is reference_shop.SHOP)
    assert shop.info.factory == "reference_partners.storefront_admin.app:create_app"
    assert s.ports()["shop"] == shop.port

    s.secrets = defaultdict(str)  # the clients' secrets (bootstrap's, not this test's)
    s.webhook_secret = reference_shop.webhook_secret(tmp_path)
    storefront = next(r for r in s.services if r.info.name == "storefront")
    shop_env, storefront_env = s.environment(shop), s.environment(storefront)
    assert shop_env["INTERCHANGE_SHOP_WEBHOOK_URL"] == f"{storefront.url}/v1/webhooks/orders"
    assert storefront_env["INTERCHANGE_STOREFRONT_ADMIN_URL"] == f"{shop.url}/admin/api/2024-01"
    assert shop_env["INTERCHANGE_SHOP_WEBHOOK_SECRET"] == storefront_env["INTERCHANGE_STOREFRONT_WEBHOOK_SECRET"]
    assert len(shop_env["INTERCHANGE_SHOP_WEBHOOK_SECRET"]) >= 32
    assert shop_env["INTERCHANGE_SHOP_SHOP_DOMAIN"] == "demo-shop.storefront.example"


def test_the_secret_is_generated_once_owner_only_beside_the_clients_and_kept(tmp_path: Path) -> None:
    (tmp_path / "secrets.json").write_text(json.dumps({"svc-erp": "kept"}))
    first = reference_shop.webhook_secret(tmp_path)
    assert reference_shop.webhook_secret(tmp_path) == first
    stored = json.loads((tmp_path / "secrets.json").read_text())
    assert stored == {"svc-erp": "kept", "storefront-webhook": first}
    assert stat.S_IMODE((tmp_path / "secrets.json").stat().st_mode) == 0o600


def test_a_secret_set_in_the_environment_is_the_one_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTERCHANGE_STOREFRONT_WEBHOOK_SECRET", "set-by-the-operator")
    assert reference_shop.webhook_secret(tmp_path) == "set-by-the-operator"
    assert not (tmp_path / "secrets.json").exists()


def test_only_without_the_storefront_starts_no_shop_and_points_nothing_at_it(tmp_path: Path) -> None:
    s = suite(tmp_path, only=frozenset({"erp"}))
    assert all(r.info is not reference_shop.SHOP for r in s.services)
    with_storefront = suite(tmp_path, only=frozenset({"storefront"}))
    assert {r.info.name for r in with_storefront.services} == {"storefront", "shop"}

    assert reference_shop.environment(service="storefront", storefront_url="http://x", shop_url=None, secret="s") == {
        "INTERCHANGE_STOREFRONT_WEBHOOK_SECRET": "s"
    }


def test_scaled_behind_nginx_no_shop_is_started(tmp_path: Path) -> None:
    mode = ScaledMode(replicas=2, database_url_template="postgresql+asyncpg://u@h/{service}", events_url="redis://h")
    scaled = ScaledSuite(
        data_dir=tmp_path,
        host="127.0.0.1",
        free_ports=True,
        seed=False,
        console=Console(file=io.StringIO()),
        scale=mode,
    )
    assert all(r.info is not reference_shop.SHOP for r in scaled.services)
    scaled.secrets, scaled.webhook_secret = defaultdict(str), "s"
    storefront = scaled.environment(scaled.replicas("storefront")[0])
    assert storefront["INTERCHANGE_STOREFRONT_WEBHOOK_SECRET"] == "s"
    assert "INTERCHANGE_STOREFRONT_ADMIN_URL" not in storefront  # the storefront pushes where it is told


def test_a_write_that_fails_half_way_keeps_the_clients_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # secrets.json holds every client's secret: rewriting it in place (truncate, then write) lost
    # them all when the write failed (disk full); a whole new file replaces it or nothing does.
    path = tmp_path / "secrets.json"
    path.write_text(json.dumps({"svc-erp": "kept"}))
    real_open = io.open

    class DiskFull:
        def __init__(self, handle: Any) -> None:
            self.handle = handle

        def write(self, _text: str) -> int:
            raise OSError(28, "No space left on device")

        def __enter__(self) -> DiskFull:
            return self

        def __exit__(self, *_: object) -> None:
            self.handle.close()

        def __getattr__(self, name: str) -> Any:
            return getattr(self.handle, name)

    def failing_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        handle = real_open(file, mode, *args, **kwargs)
        return DiskFull(handle) if "w" in mode else handle

    monkeypatch.setattr(io, "open", failing_open)
    with pytest.raises(OSError, match="No space left"):
        reference_shop.webhook_secret(tmp_path)
    monkeypatch.undo()

    assert json.loads(path.read_text()) == {"svc-erp": "kept"}
