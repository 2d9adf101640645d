"""`python -m bench --brokers kafka,tansu`: the broker list is checked, and the figures of each broker's
run end in one table with a column per broker and their ratio (bench/side_by_side.py)."""

from __future__ import annotations

import pytest

from bench.__main__ import main
from bench.report import Outcome
from bench.side_by_side import parse_brokers, ratio_line, side_by_side


def test_the_broker_list_is_checked() -> None:
    assert parse_brokers("kafka, tansu") == ["kafka", "tansu"]
    for bad in ("kafka,nope", "kafka,kafka", ""):
        with pytest.raises(ValueError, match="kafka and/or tansu"):
            parse_brokers(bad)


def test_an_unknown_broker_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["hop", "--brokers", "kafka,redpanda"]) == 2
    assert "--brokers takes kafka and/or tansu" in capsys.readouterr().err


def test_figures_side_by_side_with_their_ratio() -> None:
    per_broker = {
        "kafka": [
            Outcome("hop", metrics={"messages": 1000, "p99": 20.0, "p99_by_quarter": [1.0], "broker": "x"}),
            Outcome("e2e", metrics={"broker_one_hop_ms": {"p99": 10.0}}, ratios={"over_hops": 2.0}),
            Outcome("lab", status="skipped"),
        ],
        "tansu": [
            Outcome("hop", metrics={"messages": 1000, "p99": 50.0}),
            Outcome("e2e", metrics={"broker_one_hop_ms": {"p99": 30.0}}, ratios={"over_hops": 1.0}),
        ],
    }
    lines = side_by_side(per_broker).splitlines()
    assert lines[0].split() == ["benchmark", "figure", "kafka", "tansu", "tansu/kafka"]
    body = [line.split() for line in lines[2:]]
    assert ["hop", "p99", "20.0", "50.0", "2.5"] in body
    assert ["e2e", "broker_one_hop_ms.p99", "10.0", "30.0", "3"] in body
    assert not any(row[0] == "lab" or row[1] in ("p99_by_quarter", "broker") for row in body)
    assert (
        ratio_line(per_broker, ["p99"]) == "brokers tansu/kafka: hop.p99=2.50 e2e.broker_one_hop_ms.p99=3.00"
    )
