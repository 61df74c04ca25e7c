"""Issue 9: ``interchange up --scale 2`` on PostgreSQL + Redis, every service's two replicas behind
the generated nginx, the gateway's included (real processes throughout).

The README's first partner order through the balanced gateway reaches ACCEPTED. Then one replica
of orders and one of the gateway are SIGKILLed while partner orders keep coming: status reads
through the gateway all answer 200 on their first try (nginx passes a refused connection on to
the other replica), every order is accepted (a partner sends again an order whose call was in
flight on a killed replica, as the contract allows), the supervisor starts both replicas again
on their ports, and every order reaches a final state with no order and no ERP sales order twice.
"""

from __future__ import annotations

import asyncio
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bench.chaos_scale import ScaledRun, Submission, generous_limits, scaled_run, settle, submit_paced, verdict
from tests.conftest import skip_or_fail
from tests.e2e.test_walkthrough import run_walkthrough
from tests.support.prerequisites import locate
from tests.support.processes import ready, wait_until

pytestmark = pytest.mark.e2e

ORDERS = 30
RATE = 5.0  # orders per second: the kills land while orders are in flight


@pytest.fixture
def scaled(tmp_path: Path) -> Iterator[ScaledRun]:
    for binary in ("nginx", "redis-server", "curl"):
        if shutil.which(binary) is None and locate(binary) is None:
            skip_or_fail(f"{binary} is not installed (apt-get install nginx redis-server curl)")
    if locate("initdb") is None:
        skip_or_fail("PostgreSQL is not installed (apt-get install postgresql)")
    with scaled_run(tmp_path, replicas=2, settings=generous_limits()) as run:
        yield run


@pytest.mark.timeout(600)  # 22 processes start in two waves: about 2 min on a quiet machine, more under load
def test_two_replicas_survive_killed_orders_and_gateway_replicas(scaled: ScaledRun) -> None:
    suite = scaled.suite()
    assert {name for name in suite["pids"]} >= {"orders-1", "orders-2", "gateway-1", "gateway-2", "nginx"}
    out = run_walkthrough(scaled.gateway, scaled.data_dir)
    assert '"order_status":"ACCEPTED"' in out.replace(" ", ""), scaled.launcher_log()

    answered: list[Submission] = []
    some_answered = threading.Event()

    def on_done(submission: Submission) -> None:
        answered.append(submission)
        if len(answered) >= 5:
            some_answered.set()

    results: list[Submission] = []
    sender = threading.Thread(
        target=lambda: results.extend(
            asyncio.run(submit_paced(scaled, prefix="SC", orders=ORDERS, rate=RATE, on_done=on_done))
        )
    )
    sender.start()
    assert some_answered.wait(120), scaled.launcher_log()
    before = {name: scaled.kill_replica(name) for name in ("orders-1", "gateway-1")}

    # Reads through the balanced gateway while both are down: each answers on its first try.
    token = scaled.token()
    reads = [
        httpx.get(f"{scaled.gateway}/marketplace/v1/orders/MP-1001", headers={"Authorization": f"Bearer {token}"})
        for _ in range(20)
    ]
    assert [r.status_code for r in reads] == [200] * 20, [r.text for r in reads if r.status_code != 200]
    sender.join(timeout=240)
    assert not sender.is_alive()

    # The supervisor started both again, on their own ports.
    def back() -> bool:
        now = scaled.suite()
        return all(now["pids"][name] != pid and ready(now["replicas"][name]) for name, pid in before.items())

    wait_until(back, seconds=90, what="the killed replicas to be started again and ready")
    log = scaled.launcher_log()
    assert "supervisor: orders-1" in log and "supervisor: gateway-1" in log, log

    # Every order accepted, final, none lost, none twice.
    assert len(results) == ORDERS
    assert all(s.accepted for s in results), [(s.order_id, s.status, dict(s.failures)) for s in results]
    unfinished = "SELECT channel_order_id, status, saga_step, last_error FROM orders WHERE saga_active"
    assert settle(scaled, prefix="SC", accepted=ORDERS, seconds=120), scaled.sql("orders", unfinished)
    figures = verdict(scaled, results, prefix="SC")
    assert figures["lost"] == 0, figures
    assert figures["final"] == ORDERS, figures
    assert figures["duplicated_orders"] == 0, figures
    assert figures["duplicated_erp_sales_orders"] == 0, figures
    assert figures["allocations_match_erp"], figures
