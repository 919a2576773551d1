"""Parsing of the emulator's command-line strings and the write-ceiling formula."""

from __future__ import annotations

import pytest

from seeder.emulator import (
    CostModel,
    EmulatorConfig,
    FaultSpec,
    parse_cost_ms,
    parse_faults,
    write_ceiling_records_per_s,
)
from seeder.errors import UsageError


def test_parse_cost_ms() -> None:
    assert parse_cost_ms("write=5,read=0.1,request=2") == CostModel(write=5, read=0.1, request=2)
    assert parse_cost_ms("request=3") == CostModel(request=3)
    assert parse_cost_ms(None) == CostModel()
    for bad in ("write", "write=x", "cpu=1", "write=-1"):
        with pytest.raises(UsageError):
            parse_cost_ms(bad)


def test_parse_faults() -> None:
    spec = parse_faults("429=0.05,503=0.02,reset=0.01,slow=0.01")
    assert spec == FaultSpec(throttle=0.05, unavailable=0.02, reset=0.01, slow=0.01)
    assert parse_faults("") == FaultSpec() and not parse_faults(None).any
    for bad in ("404=0.1", "429=0.7,503=0.7", "429", "429=abc"):
        with pytest.raises(UsageError):
            parse_faults(bad)
    with pytest.raises(UsageError):
        EmulatorConfig(faults="oops=1")
    with pytest.raises(UsageError):
        EmulatorConfig(time_scale=0)


def test_write_ceiling() -> None:
    # 4 s of server time per second of wall clock, 1000-record requests of 2 + 1000 × 5 ms
    assert write_ceiling_records_per_s(CostModel(write=5, read=0, request=2)) == 799.7
    # request-count bound: 20 requests/s × 1000 records
    assert write_ceiling_records_per_s(CostModel(write=0, read=0, request=0)) == 20000
    assert write_ceiling_records_per_s(CostModel(write=0.1, read=0, request=0)) == 20000
