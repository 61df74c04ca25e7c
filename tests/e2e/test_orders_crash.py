"""SIGKILL of the orders service mid-burst, on real processes: `interchange up --free-ports`
starts the suite; a burst of orders is submitted; while the worker is half way through, the
orders process is killed with SIGKILL and started again with the same command line and
environment (read from /proc before the kill). Every order must end released, booked exactly
once in the ERP, reserved exactly once in the WMS, announced exactly once in the outbox. A second
test kills it between the ERP booking a batch of sales orders and the worker recording the answers,
a third between the WMS reserving a batch and the worker recording those answers: the process
stops itself there (an injection point, ``process_apis/orders/flows/injection.py``) and the test
waits for that stop, instead of racing a window of milliseconds with SIGSTOP.

The launcher's supervisor would start the killed process again itself (after its back-off); the
test restarts it by hand at a moment of its choosing instead, so it freezes the launcher (SIGSTOP)
for the duration and lets it go at the end, when the suite is stopped."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import skip_or_fail
from tests.support.processes import ready, wait_until

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
ORDERS = 40
ENV = {
    "INTERCHANGE_ERP_CALL_QUOTA_PER_SECOND": "15",
    "INTERCHANGE_ORDERS_ERP_CALLS_PER_SECOND": "14",
    "INTERCHANGE_ORDERS_WORKER_POLL_INTERVAL": "0.5",
    "INTERCHANGE_ORDERS_RETRY_BACKOFF_INITIAL": "0.5",
}


def proc_environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode().split("=", 1) for item in raw if b"=" in item)


def count(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return list(conn.execute(sql).fetchall())


@pytest.fixture
def suite_dir(tmp_path: Path) -> Path:
    if not Path("/proc/self/environ").exists():
        skip_or_fail("/proc is needed to read the orders process's command line and environment")
    return tmp_path / "var"


@dataclass
class Suite:
    """The suite `interchange up` started, and the orders process started again after the kill."""

    dir: Path
    launcher: subprocess.Popen[bytes]
    info: dict[str, Any]
    token: str
    restarted: subprocess.Popen[bytes] | None = None

    @property
    def orders_url(self) -> str:
        return str(self.info["services"]["orders"])

    @property
    def orders_pid(self) -> int:
        return int(self.info["pids"]["orders"])

    def freeze_launcher(self) -> None:
        """Keeps the launcher's supervisor from restarting the orders process behind the test's back."""
        os.kill(self.launcher.pid, signal.SIGSTOP)

    def orders(self) -> httpx.Client:
        return httpx.Client(base_url=self.orders_url, headers={"Authorization": f"Bearer {self.token}"}, timeout=30)


@contextmanager
def running_suite(suite_dir: Path, **extra_env: str) -> Iterator[Suite]:
    """Starts the suite and waits for it; at the end stops the restarted orders process and lets
    the launcher (frozen by the test) go and shut the suite down."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTERCHANGE_")} | ENV | extra_env
    suite_dir.mkdir(parents=True)
    with (suite_dir / "launcher.out").open("ab") as log:
        launcher = subprocess.Popen(
            [sys.executable, "-m", "interchange.cli", "up", "--free-ports", "--data-dir", str(suite_dir)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        suite: Suite | None = None
        try:
            info = wait_until(
                lambda: (
                    (suite_dir / "suite.json").exists()
                    # "running": past the launcher's start-up, after which a killed service is restarted
                    and json.loads((suite_dir / "suite.json").read_text()).get("state") == "running"
                    and all(ready(u) for u in json.loads((suite_dir / "suite.json").read_text())["services"].values())
                    and json.loads((suite_dir / "suite.json").read_text())
                ),
                seconds=120,
                what="the suite",
            )
            secret = json.loads((suite_dir / "secrets.json").read_text())["svc-marketplace"]
            token = httpx.post(
                f"{info['gateway']}/oauth2/token",
                data={"grant_type": "client_credentials"},
                auth=("svc-marketplace", secret),
            ).json()["access_token"]
            suite = Suite(dir=suite_dir, launcher=launcher, info=info, token=token)
            yield suite
        finally:
            if suite is not None and suite.restarted is not None:
                suite.restarted.terminate()
                suite.restarted.wait(timeout=30)
            if launcher.poll() is None:
                os.kill(launcher.pid, signal.SIGCONT)
                launcher.send_signal(signal.SIGTERM)
                launcher.wait(timeout=60)


def submit_burst(orders: httpx.Client, prefix: str) -> list[str]:
    ids = []
    for n in range(ORDERS):
        body = {
            "channel": "b2b",
            "channel_order_id": f"{prefix}{n}",
            "customer_id": "C-1001",
            "currency": "EUR",
            "lines": [{"sku": "CABLE-USB-C", "quantity": {"value": "1", "unit": "EA"}}],
        }
        resp = orders.post("/v1/orders", json=body, headers={"Idempotency-Key": f"b2b:{prefix}{n}"})
        assert resp.status_code == 202, resp.text
        ids.append(resp.json()["id"])
    return ids


def kill_and_restart_orders(
    suite: Suite, pid: int | None, *, cmdline: list[str], environ: dict[str, str], cwd: str
) -> None:
    """SIGKILL the orders process (``pid``; ``None``: already dead), then start it again with the
    command line, environment and working directory read from /proc before (the launcher is
    frozen, so it would not)."""
    if pid is not None:
        os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not ready(suite.orders_url), seconds=10, what="the orders service to go down")
    with (suite.dir / "logs" / "orders-restarted.log").open("ab") as restart_log:
        suite.restarted = subprocess.Popen(cmdline, env=environ, cwd=cwd, stdout=restart_log, stderr=subprocess.STDOUT)
    wait_until(lambda: ready(suite.orders_url), seconds=60, what="the restarted orders service")


def read_process(pid: int) -> tuple[list[str], dict[str, str], str]:
    """The command line, environment and working directory of a running process."""
    cmdline = [a.decode() for a in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0") if a]
    return cmdline, proc_environ(pid), os.readlink(f"/proc/{pid}/cwd")


def settled(orders: httpx.Client) -> list[dict[str, Any]]:
    def all_settled() -> list[dict[str, Any]] | None:
        items = orders.get("/v1/orders", params={"limit": 200}).json()["items"]
        return items if all(o["status"] not in ("received", "accepted") for o in items) else None

    return wait_until(all_settled, seconds=120, what="every order to settle")


def assert_released_and_booked_once(suite_dir: Path, final: list[dict[str, Any]], ids: list[str]) -> None:
    assert sorted(o["id"] for o in final) == sorted(ids)
    assert {o["status"] for o in final} == {"released"}, {
        o["id"]: o["status"] for o in final if o["status"] != "released"
    }
    erp = count(suite_dir / "erp.db", "SELECT ext_ref, count(*) FROM erp_sales_orders GROUP BY ext_ref")
    assert sorted(erp) == sorted((i, 1) for i in ids)  # exactly once in the ERP


def test_sigkill_mid_burst_loses_no_order_and_doubles_none(suite_dir: Path) -> None:
    with running_suite(suite_dir) as suite, suite.orders() as orders:
        ids = submit_burst(orders, "PO-")

        def released() -> int:
            items = orders.get("/v1/orders", params={"limit": 200}).json()["items"]
            return sum(o["status"] == "released" for o in items)

        done_before = wait_until(lambda: released() >= 3 and released(), seconds=60, what="the first orders")
        assert done_before < ORDERS, "the burst finished before the kill; make it bigger"

        pid = suite.orders_pid
        cmdline, environ, cwd = read_process(pid)
        suite.freeze_launcher()
        kill_and_restart_orders(suite, pid, cmdline=cmdline, environ=environ, cwd=cwd)
        final = settled(orders)
        sagas_done(suite_dir)

    assert_released_and_booked_once(suite_dir, final, ids)
    assert_recorded_once_in_crm(suite_dir, ids)
    wms = count(
        suite_dir / "wms.db",
        "SELECT order_ref, count(*) FROM wms_allocations WHERE alloc_status != 'DEALLOCATED' GROUP BY order_ref",
    )
    assert sorted(wms) == sorted((i, 1) for i in ids)
    assert_announced_once(suite_dir, ids)


def sagas_done(suite_dir: Path) -> None:
    """A released order still records its CRM activity: wait until no saga runs any more."""
    running = "SELECT count(*) FROM orders WHERE saga_active"
    wait_until(lambda: count(suite_dir / "orders.db", running) == [(0,)], seconds=60, what="every saga to end")


def assert_recorded_once_in_crm(suite_dir: Path, ids: list[str]) -> None:
    activities = count(
        suite_dir / "crm.db",
        "SELECT ExternalRef, count(*) FROM crm_activities WHERE Type = 'order_accepted' GROUP BY ExternalRef",
    )
    assert sorted(activities) == sorted((i, 1) for i in ids)  # exactly one activity per order


def assert_announced_once(suite_dir: Path, ids: list[str]) -> None:
    events = count(
        suite_dir / "orders.db",
        "SELECT subject, count(*) FROM event_outbox WHERE type = 'com.interchange.order.accepted.v1' GROUP BY subject",
    )
    assert sorted(events) == sorted((i, 1) for i in ids)


def booked_but_not_recorded(suite_dir: Path) -> list[str]:
    """Orders the ERP booked (its batch committed) whose answer the orders process has not recorded."""
    booked = {ref for (ref,) in count(suite_dir / "erp.db", "SELECT ext_ref FROM erp_sales_orders")}
    waiting = count(
        suite_dir / "orders.db",
        "SELECT id FROM orders WHERE saga_step = 'create_sales_order' AND erp_order_number IS NULL",
    )
    return [order_id for (order_id,) in waiting if order_id in booked]


def stopped(pid: int) -> bool:
    """Whether the process is stopped (SIGSTOP: state ``T`` in /proc/<pid>/stat)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "T"


def stop_orders_at(
    suite: Suite, orders: httpx.Client, point: str, prefix: str
) -> tuple[list[str], list[str], dict[str, str], str]:
    """The burst taken in with the saga off; then the orders process is started again with its
    saga on and armed to stop itself at ``point`` (``flows.injection``), and the test waits for
    that stop: a real condition, not a window to race. Returns the burst's ids and the process's
    command line, environment (saga on, disarmed) and working directory to start it again."""
    pid = suite.orders_pid
    cmdline, environ, cwd = read_process(pid)
    suite.freeze_launcher()
    ids = submit_burst(orders, prefix)
    environ = environ | {"INTERCHANGE_ORDERS_WORKER_ENABLED": "true"}
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not ready(suite.orders_url), seconds=10, what="the orders service to go down")
    with (suite.dir / "logs" / "orders-armed.log").open("ab") as log:
        armed = environ | {"INTERCHANGE_ORDERS_INJECTION_POINT": point}
        suite.restarted = subprocess.Popen(cmdline, env=armed, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
    wait_until(lambda: stopped(suite.restarted.pid), seconds=120, what=f"the orders process to stop at {point}")
    return ids, cmdline, environ, cwd


def kill_armed_and_restart(suite: Suite, *, cmdline: list[str], environ: dict[str, str], cwd: str) -> None:
    """SIGKILL the orders process stopped at its injection point; start it again, disarmed."""
    assert suite.restarted is not None
    armed, suite.restarted = suite.restarted, None
    armed.kill()
    armed.wait(timeout=30)
    kill_and_restart_orders(suite, None, cmdline=cmdline, environ=environ, cwd=cwd)


#: The burst is taken in with the saga off (an armed process would stop mid-burst and leave the
#: test's own requests unanswered); the saga runs in the process started again to be stopped.
SAGA_OFF = {"INTERCHANGE_ORDERS_WORKER_ENABLED": "false"}


def test_sigkill_between_a_batch_posted_and_its_answers_recorded_books_each_order_once(suite_dir: Path) -> None:
    """The orders process stops itself right after the ERP answered a sales-order batch, before it
    records anything (injection point ``pivot_batch_answered``), and is killed there. Started
    again, each order must end released with exactly one sales order."""
    with running_suite(suite_dir, **SAGA_OFF) as suite, suite.orders() as orders:
        ids, cmdline, environ, cwd = stop_orders_at(suite, orders, "pivot_batch_answered", "PO-B")
        in_limbo = booked_but_not_recorded(suite_dir)
        assert in_limbo, "stopped after the ERP booked a batch: its orders are booked, not recorded"
        kill_armed_and_restart(suite, cmdline=cmdline, environ=environ, cwd=cwd)
        final = settled(orders)
        sagas_done(suite_dir)

    assert_released_and_booked_once(suite_dir, final, ids)
    assert_recorded_once_in_crm(suite_dir, ids)
    numbers = {o["id"]: o["erp_order_number"] for o in final}
    assert all(numbers[i] for i in in_limbo)  # the restarted worker recorded the earlier booking
    assert_announced_once(suite_dir, ids)


def reserved_but_not_recorded(suite_dir: Path) -> list[str]:
    """Orders the WMS reserved (its batch committed) whose reservation the orders process has not recorded."""
    reserved = {ref for (ref,) in count(suite_dir / "wms.db", "SELECT order_ref FROM wms_allocations")}
    waiting = count(suite_dir / "orders.db", "SELECT id FROM orders WHERE saga_step = 'reserve_stock'")
    return [order_id for (order_id,) in waiting if order_id in reserved]


def test_sigkill_between_a_reservation_batch_posted_and_its_answers_recorded_reserves_each_order_once(
    suite_dir: Path,
) -> None:
    """As the ERP one, for the WMS (injection point ``reservation_batch_answered``). The restarted
    worker posts those entries again and gets the reservations made the first time: one
    allocation per order, none made and given back."""
    with running_suite(suite_dir, **SAGA_OFF) as suite, suite.orders() as orders:
        ids, cmdline, environ, cwd = stop_orders_at(suite, orders, "reservation_batch_answered", "PO-W")
        in_limbo = reserved_but_not_recorded(suite_dir)
        assert in_limbo, "stopped after the WMS reserved a batch: its orders are reserved, not recorded"
        kill_armed_and_restart(suite, cmdline=cmdline, environ=environ, cwd=cwd)
        final = settled(orders)
        sagas_done(suite_dir)

    assert_released_and_booked_once(suite_dir, final, ids)
    every = count(
        suite_dir / "wms.db", "SELECT order_ref, count(*), min(alloc_status) FROM wms_allocations GROUP BY order_ref"
    )
    assert sorted(every) == sorted((i, 1, "PICK_RELEASED") for i in ids)  # one allocation each, none given back
    reservation_ids = {o["id"]: o["reservation_ids"] for o in final}
    assert all(len(reservation_ids[i]) == 1 for i in in_limbo)  # the restarted worker recorded the earlier one
    assert_announced_once(suite_dir, ids)
