"""The kit's Pacer on a fake clock: slots are spaced 1/rate apart and a Retry-After cooldown holds
every later caller back. No wall time is measured."""

from __future__ import annotations

from service_kit.http import Pacer


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


async def test_calls_at_once_get_evenly_spaced_slots() -> None:
    fake = FakeTime()
    pacer = Pacer(10, clock=fake.clock, sleep=fake.sleep)
    slots = [await pacer.wait() for _ in range(4)]
    assert [round(s - 100.0, 6) for s in slots] == [0.0, 0.1, 0.2, 0.3]
    assert [round(s, 6) for s in fake.slept] == [0.1, 0.1, 0.1]


async def test_a_caller_after_a_quiet_spell_is_not_held_back() -> None:
    fake = FakeTime()
    pacer = Pacer(10, clock=fake.clock, sleep=fake.sleep)
    await pacer.wait()
    fake.now += 5
    assert await pacer.wait() == fake.now
    assert fake.slept == []


async def test_a_cooldown_holds_the_next_call_until_it_ends() -> None:
    fake = FakeTime()
    pacer = Pacer(None, clock=fake.clock, sleep=fake.sleep)
    assert pacer.interval == 0.0
    pacer.cool_down(1.5)
    assert await pacer.wait() == 101.5
    assert fake.slept == [1.5]
    assert await pacer.wait() == 101.5  # unpaced: the next call goes at once
