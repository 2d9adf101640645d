from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from services.common.policy import score_at, score_components
from services.common.policy.scoring import Decayed, add, score_after
from tests.unit.common.policy.conftest import T0, act, downloaded, fold, page


def test_score_halves_after_one_half_life(policy):
    state = fold(policy, [downloaded("wp-lead-scoring")])
    half_life = timedelta(days=policy.scoring.half_life_days)
    assert score_at(state.scores, policy, T0) == 10
    assert score_at(state.scores, policy, T0 + half_life) == 5
    assert score_at(state.scores, policy, T0 + 2 * half_life) == 2.5


def test_caps_apply_when_read_but_the_uncapped_sum_is_kept(policy):
    state = fold(policy, [page("/blog/mql-vs-sql") for _ in range(300)])
    assert score_components(state.scores, policy, T0) == {"page_view": 15.0}
    assert state.scores["page_view"].value == 300


def test_page_points_give_pricing_more_weight(policy):
    state = fold(policy, [page("/pricing"), page("/about")])
    assert score_components(state.scores, policy, T0)["page_view"] == 6


def test_unknown_events_score_only_when_the_policy_names_them(policy):
    state = fold(policy, [act("track", "Video Played"), act("track", "Demo Requested")])
    assert score_components(state.scores, policy, T0) == {"Demo Requested": 20.0}
    assert state.counts["track"] == 2


def test_adding_an_older_event_decays_it_instead_of_the_sum():
    later = add(Decayed(8.0, T0 + timedelta(days=10)), 4.0, T0, half_life_days=10)
    assert later == Decayed(10.0, T0 + timedelta(days=10))


_events = st.lists(
    st.tuples(st.sampled_from(["page", "download", "seminar", "form"]), st.integers(0, 60 * 24 * 40)),
    min_size=1,
    max_size=25,
)


@settings(max_examples=60, deadline=None)
@given(events=_events, order=st.randoms(use_true_random=False))
def test_any_order_of_activities_gives_the_same_score(policy, events, order):
    def build(kind, minutes, i):
        time = T0 + timedelta(minutes=minutes)
        if kind == "page":
            return page("/pricing" if i % 2 else "/blog/mql-vs-sql", time, event_id=f"e{i}")
        if kind == "download":
            return downloaded("wp-lead-scoring", time, event_id=f"e{i}")
        if kind == "seminar":
            return act("track", "Seminar Attended", time=time, event_id=f"e{i}", seminar_id="sem-mql-design")
        return act("track", "Form Submitted", time=time, event_id=f"e{i}", form_id="contact-sales")

    activities = [build(k, m, i) for i, (k, m) in enumerate(events)]
    shuffled = list(activities)
    order.shuffle(shuffled)
    a, b = fold(policy, activities), fold(policy, shuffled)
    end = T0 + timedelta(days=45)
    for kind in a.scores:
        assert abs(a.scores[kind].value - b.scores[kind].value) < 1e-9
        assert a.scores[kind].as_of == b.scores[kind].as_of
    assert abs(score_at(a.scores, policy, end) - score_at(b.scores, policy, end)) < 1e-9
    assert a.signals == b.signals
    assert a.interests.keys() == b.interests.keys()
    assert all(abs(a.interests[t].value - b.interests[t].value) < 1e-9 for t in a.interests)


_sums = st.dictionaries(
    st.sampled_from(["page_view", "content_download", "seminar_attended", "Demo Requested"]),
    st.tuples(
        st.floats(-50, 400, allow_nan=False),
        st.integers(-(10**13), 10**13),  # as_of, microseconds around T0: far before and after the reads
    ),
    min_size=0,
    max_size=5,
)


@settings(max_examples=200, deadline=None)
@given(
    sums=_sums,
    start_us=st.integers(-(10**12), 10**12),
    seconds=st.lists(st.integers(0, 2**30), min_size=1, max_size=8),
)
def test_score_after_is_score_at_to_the_last_bit(policy, sums, start_us, seconds):
    """The band search's shortcut (decay.py) reads exactly what `score_at` reads, caps and rounding
    included: an off-by-one-bit sum would move a published due time."""
    scores = {k: Decayed(v, T0 + timedelta(microseconds=us)) for k, (v, us) in sums.items()}
    start = T0 + timedelta(microseconds=start_us)
    score = score_after(scores, policy, start)
    for s in [0, 1, *seconds]:
        assert score(s) == score_at(scores, policy, start + timedelta(seconds=s))
