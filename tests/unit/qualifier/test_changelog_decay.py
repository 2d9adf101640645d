"""Views that change with no new event (services/qualifier/decay.py): a score band that drops with time
and a change the rate limit held back are published as of the moment they fell due, the same whether the
sweep looks often, rarely, or never (the lead's next entry catches them up), so a replay agrees."""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from services.common.policy import LeadState, Policy
from services.common.policy.lead import evolve
from services.common.policy.scoring import Decayed, score_at
from services.qualifier.changelog import Changelog
from services.qualifier.decay import band_drop, doubling_search, score_band
from services.qualifier.demo import generate_audience
from services.qualifier.eventlog import from_row
from services.qualifier.stitching import Entry, Ledger
from tests.unit.common.policy.conftest import T0
from tests.unit.qualifier.test_changelog import LEAD, entry, minutes, script, written

DAY = 24 * 60


def run(policy: Policy, entries: list[Entry], looks: list[float]) -> list[dict]:
    """Fold as the worker does, with a sweep looking at the lead at each of `looks` (minutes) that
    falls between two entries (and after the last one)."""
    ledger, log = Ledger(policy), Changelog(policy)
    pending = sorted(looks)
    for e in entries:
        while pending and minutes(pending[0]) < e.time:
            sweep(ledger, log, minutes(pending.pop(0)))
        log.catch_up(ledger, e)
        ledger.fold(e)
        log.observe(ledger)
    for at in pending:
        sweep(ledger, log, minutes(at))
    return written(log)


def sweep(ledger: Ledger, log: Changelog, until) -> None:  # type: ignore[no-untyped-def]
    for state in ledger.states.values():
        log.look(state, until)


def test_a_band_drops_at_the_first_second_below_its_floor(policy: Policy) -> None:
    ledger = Ledger(policy)
    for e in script()[:5]:
        ledger.fold(e)
    state = ledger.states[LEAD]
    start = minutes(13)
    drop = band_drop(state, policy, start)
    assert drop is not None and drop.microsecond == 0
    assert score_band(score_at(state.scores, policy, start)) == "warm"
    assert score_band(score_at(state.scores, policy, drop)) == "cold"
    assert score_band(score_at(state.scores, policy, drop - timedelta(seconds=1))) == "warm"
    assert band_drop(state, policy, drop) is None  # cold is the lowest band: nothing more to wait for


def test_a_lead_that_never_returns_gets_its_decayed_band(policy: Policy) -> None:
    updates = run(policy, script(), looks=[30 * DAY])
    last = updates[-1]["data"]
    assert [u["data"]["stage"] for u in updates] == ["known", "known", "mql", "sql", "sql"]
    assert last["score_band"] == "cold" and last["changed"] == ["score_band"] and last["score"] < 10
    drop = band_drop(_state(policy), policy, minutes(14))
    assert drop is not None
    assert last["updated_at"] == drop.isoformat()  # as of the moment it dropped, not of the sweep


def test_a_held_back_change_is_published_when_its_interval_ends(policy: Policy) -> None:
    first_three = script()[:3]  # e3's change comes 2 minutes after the first update: held back
    assert len(run(policy, first_three, looks=[])) == 1
    updates = run(policy, first_three, looks=[11])
    assert [u["data"]["updated_at"] for u in updates] == [minutes(0).isoformat(), minutes(10).isoformat()]
    assert updates[1]["data"]["score_band"] == "warm"


def test_the_sweeps_timing_changes_nothing(policy: Policy) -> None:
    """Sweeping every few minutes, once a month later, or never before the next entry: same updates."""
    entries = [*script()[:5], entry(9, 40 * DAY, "page", properties={"path": "/pricing"})]
    never = run(policy, entries, looks=[])
    often = run(policy, entries, looks=[m * 7.0 for m in range(1, 40)] + [d * DAY for d in range(1, 40)])
    late = run(policy, entries, looks=[39 * DAY])
    assert never == often == late
    bands = [(u["data"]["score_band"], u["data"]["changed"]) for u in never]
    assert ("cold", ["score_band"]) in bands  # the drop is published before the entry 40 days later
    assert len({u["id"] for u in never}) == len(never)


def test_a_look_before_anything_fell_due_publishes_nothing(policy: Policy) -> None:
    entries = script()[:5]
    assert run(policy, entries, looks=[20, 60, 24 * 60]) == run(policy, entries, looks=[])


def _state(policy: Policy):  # type: ignore[no-untyped-def]
    ledger = Ledger(policy)
    for e in script():
        ledger.fold(e)
    return ledger.states[LEAD]


def test_a_state_dated_past_the_look_moves_the_due_time_there(policy: Policy) -> None:
    """A sweep at `until` must not read a state backwards (an entry dated later than `until` was folded):
    nothing is published, and the due time moves past `until`, so the lead is not looked at again and
    again (it would fill every sweep's batch)."""
    ledger, log = Ledger(policy), Changelog(policy)
    for e in script()[:3]:
        log.catch_up(ledger, e)
        ledger.fold(e)
        log.observe(ledger)
    assert log.published[LEAD].due == minutes(10)  # e3's change held back until then
    ledger.fold(entry(7, 30, "page", properties={"path": "/blog/c"}))  # dated 30, looked at 20
    log.look(ledger.states[LEAD], minutes(20))
    assert len(log.updates) == 1 and log.published[LEAD].due == minutes(30)


def _searched(state: LeadState, policy: Policy, since: datetime) -> datetime | None:
    """band_drop as it was: the doubling search, each probe through `score_at`."""
    band = score_band(score_at(state.scores, policy, since))
    if band == "cold":
        return None
    base = since.replace(microsecond=0)

    def dropped(seconds: int) -> bool:
        return score_band(score_at(state.scores, policy, base + timedelta(seconds=seconds))) != band

    seconds = doubling_search(dropped, max(int(policy.scoring.half_life_days * 86400), 1))
    return None if seconds is None else base + timedelta(seconds=seconds)


_kinds = st.sampled_from(
    ["page_view", "content_download", "seminar_attended", "form_submitted", "Demo Requested"]
)


@settings(max_examples=300, deadline=None)
@given(
    sums=st.dictionaries(
        _kinds,
        st.tuples(st.floats(-20, 300, allow_nan=False), st.integers(-(10**11), 10**11)),
        max_size=5,
    ),
    since_us=st.integers(-(10**11), 10**12),
)
def test_the_band_search_finds_the_second_the_doubling_search_found(
    policy: Policy, sums: dict, since_us: int
) -> None:
    """The search that starts from an estimate (and the doubling search it falls back to when a sum is
    negative) gives the very second the doubling search gave: published due times and update ids of
    stored changelogs stay what they were."""
    scores = {k: Decayed(v, T0 + timedelta(microseconds=us)) for k, (v, us) in sums.items()}
    state = evolve(LeadState.new("ld_x"), {"scores": scores})
    since = T0 + timedelta(microseconds=since_us)
    assert band_drop(state, policy, since) == _searched(state, policy, since)


def test_the_band_search_agrees_on_the_demo_leads(policy: Policy) -> None:
    ledger = Ledger(policy)
    for message in generate_audience(300, seed=5, start=T0)[:2500]:
        ledger.fold(
            from_row(
                message["messageId"], message["type"], message, datetime.fromisoformat(message["timestamp"])
            ).entry
        )
    checked = 0
    for state in ledger.states.values():
        if state.last_activity_at is None:
            continue
        for later in (timedelta(0), timedelta(minutes=7, microseconds=3), timedelta(days=3)):
            since = state.last_activity_at + later
            assert band_drop(state, policy, since) == _searched(state, policy, since)
            checked += band_drop(state, policy, since) is not None
    assert checked > 100  # hot and warm leads, not only cold ones
