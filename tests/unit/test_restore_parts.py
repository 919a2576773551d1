"""Pure parts of the restore: the journal, reference-data matching and row selection."""

from __future__ import annotations

from pathlib import Path

import pytest

from seeder.errors import RestoreError
from seeder.model import Column, Lookup, LookupTarget, Schema, Table
from seeder.restore.journal import Journal
from seeder.restore.refdata import match_reference_data
from seeder.restore.selection import select_rows

ANN = "@Microsoft.Dynamics.CRM.lookuplogicalname"


def _table(name: str, *lookups: tuple[str, tuple[str, ...]], extra: tuple[str, ...] = ()) -> Table:
    cols = [Column(f"{name}id", "Uniqueidentifier", is_primary_id=True), Column("name", "String")]
    cols += [Column(c, "String") for c in extra]
    lks = []
    for column, targets in lookups:
        cols.append(Column(column, "Lookup", targets=targets))
        lks.append(Lookup(name, column, tuple(LookupTarget(t, column) for t in targets)))
    return Table(name=name, entity_set=name + "s", primary_id=f"{name}id", columns=tuple(cols), lookups=tuple(lks))


def test_journal_resumes_only_the_same_run(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    identity = {"snapshot": "abc", "target": "org1", "options": "o"}
    journal = Journal(path, identity, fresh=True)
    journal.mark_done(0, 0, 5, [{"table": "account", "id": "x", "action": "upsert", "status": 400,
                                 "code": "0x1", "message": "bad"}])
    journal.close()
    again = Journal(path, identity, fresh=False)
    assert again.is_done(0, 0) and not again.is_done(0, 1)
    assert again.done_counts(0) == (5, 1)
    assert [f["id"] for f in again.failures()] == ["x"]
    again.clear_failures(0, ["x"])
    assert again.failure_count() == 0
    again.close()
    with pytest.raises(RestoreError, match="belongs to another run"):
        Journal(path, {**identity, "target": "org2"}, fresh=False)
    fresh = Journal(path, {**identity, "target": "org2"}, fresh=True)
    assert not fresh.is_done(0, 0)
    fresh.close()


def test_reference_data_matches_by_id_then_natural_key() -> None:
    schema = Schema(tables=(_table("systemuser", extra=("domainname", "internalemailaddress", "fullname")),
                            _table("transactioncurrency", extra=("isocurrencycode",)),
                            _table("businessunit", ("parentbusinessunitid", ("businessunit",)))))
    source = {
        "systemuser": [{"systemuserid": "U1", "domainname": "ann@contoso.com"},
                       {"systemuserid": "U2", "domainname": "bob@contoso.com"},
                       {"systemuserid": "U3", "domainname": "gone@contoso.com"}],
        "transactioncurrency": [{"transactioncurrencyid": "C1", "isocurrencycode": "EUR"}],
        "businessunit": [{"businessunitid": "B1", "name": "Contoso"}],
    }
    target = {
        "systemuser": [{"systemuserid": "u1", "domainname": "x@y"},
                       {"systemuserid": "T2", "domainname": "BOB@contoso.com"}],
        "transactioncurrency": [{"transactioncurrencyid": "TC", "isocurrencycode": "eur"}],
        "businessunit": [{"businessunitid": "TB", "name": "Sandbox root"}],
    }
    refs = match_reference_data(schema, lambda t: source.get(t, []), lambda t: target.get(t, []),
                                target_org_id="ORG", default_owner=("systemuser", "me"))
    assert refs.ids == {"u1": "u1", "u2": "t2", "c1": "tc", "b1": "tb"}
    assert refs.unmatched["systemuser"] == ["u3"]
    assert refs.to_dict()["matched"]["systemuser"] == {"domainname": 1, "id": 1}
    assert refs.to_dict()["matched"]["businessunit"] == {"root business unit": 1}


def test_selection_brings_parents_transitively_and_children_on_request() -> None:
    account = _table("account", ("parentaccountid", ("account",)))
    contact = _table("contact", ("parentcustomerid", ("account",)))
    note = _table("annotation", ("objectid", ("contact", "account")))
    schema = Schema(tables=(account, contact, note))
    rows = {
        "account": [{"accountid": "a1"}, {"accountid": "a2", "_parentaccountid_value": "a1",
                                          f"_parentaccountid_value{ANN}": "account"}, {"accountid": "a3"}],
        "contact": [{"contactid": "c1", "_parentcustomerid_value": "a2", f"_parentcustomerid_value{ANN}": "account"},
                    {"contactid": "c2", "_parentcustomerid_value": "a3", f"_parentcustomerid_value{ANN}": "account"}],
        "annotation": [{"annotationid": "n1", "_objectid_value": "c1", f"_objectid_value{ANN}": "contact"}],
    }
    source = lambda t: iter(rows.get(t, []))  # noqa: E731
    tables = ["account", "annotation", "contact"]
    plain = select_rows(schema, source, tables, ids={"contact": ["C1"]})
    assert plain.ids == {"account": {"a1", "a2"}, "contact": {"c1"}}
    assert plain.parents_added == {"account": 2}
    kids = select_rows(schema, source, tables, ids={"contact": ["c1"]}, with_children=True)
    assert kids.ids["annotation"] == {"n1"}
    everything = select_rows(schema, source, tables)
    assert everything.ids == {"account": None, "annotation": None, "contact": None}


def test_ambiguous_natural_keys_never_match() -> None:
    schema = Schema(tables=(_table("systemuser", extra=("domainname", "internalemailaddress", "fullname")),))
    source = {"systemuser": [{"systemuserid": "S1", "fullname": "J. Smith"}]}
    target = {"systemuser": [{"systemuserid": "T1", "fullname": "J. Smith"},
                             {"systemuserid": "T2", "fullname": "j. smith"}]}
    refs = match_reference_data(schema, lambda t: source.get(t, []), lambda t: target.get(t, []),
                                target_org_id="ORG", default_owner=("systemuser", "me"))
    assert refs.ids == {} and refs.unmatched["systemuser"] == ["s1"]
