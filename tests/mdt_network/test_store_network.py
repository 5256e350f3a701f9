"""The network repository on both stores (SQLite and PostgreSQL): networks, members,
referrals with their JSON package and decision, the thread, compare-and-set state changes."""

from __future__ import annotations

import pytest

from bonepath.errors import InputError
from bonepath.store import network
from bonepath.store.repository import open_store


def test_networks_referrals_and_threads_round_trip(db_url: str) -> None:
    with open_store(db_url) as store:
        engine = store.engine
        network.save_network(engine, "N1", "省网络", "R0")
        network.add_member(engine, "N1", "C1")
        network.add_member(engine, "N1", "C1")  # again: no change
        with pytest.raises(InputError, match="centre"):
            network.add_member(engine, "N1", "R0")
        network.save_network(engine, "N2", "另一网络", "R9")
        with pytest.raises(InputError, match="member of network N1"):
            network.add_member(engine, "N2", "C1")
        assert network.network_of(engine, "C1") == network.Network("N1", "省网络", "R0", ("C1",))
        code = network.new_code()
        package = {"code": code, "age": 76, "record": {"cancer": {"stage": "IV"}}}
        rid = network.create_referral(
            engine,
            code=code,
            case_id=None,
            patient=("his", "P1"),
            hospital_id="C1",
            centre_id="R0",
            network_id="N1",
            question="diagnosis",
            question_text="是否骨转移",
            package=package,
            referred_by="county",
        )
        network.add_message(
            engine,
            rid,
            username="centre",
            side="centre",
            specialty="radiology",
            kind="opinion",
            body="符合转移",
        )
        assert network.update_referral(
            engine, rid, expect=("open",), state="answered", decision={"decisions": ["x"]}
        )
        assert not network.update_referral(engine, rid, expect=("open",), state="answered")
        found = network.get_referral(engine, code)
        assert found is not None
        assert (found.state, found.package, found.decision) == (
            "answered",
            package,
            {"decisions": ["x"]},
        )
        assert [m.body for m in found.messages] == ["符合转移"]
        assert [r.code for r in network.list_referrals(engine, centres=["R0"])] == [code]
        assert network.list_referrals(engine, centres=["R9"]) == []
        assert network.remove_member(engine, "N1", "C1")
        assert network.network_of(engine, "C1") is None
