"""Canvas app share keys: what the exporter records and re-wiring turns back into share requests."""

from __future__ import annotations

from seeder.components import principal_of, share_key, share_keys


def _perm(kind: str, pid: str, role: str, tenant: str = "T1") -> dict[str, object]:
    principal = {"type": kind, "id": pid, "tenantId": tenant}
    return {"name": pid, "properties": {"roleName": role, "principal": principal}}


def test_keys_leave_out_the_owner_and_read_everyone_as_the_tenant() -> None:
    perms = [_perm("User", "U1", "Owner"), _perm("Group", "G1", "CanView"), _perm("Tenant", "null", "CanView"),
             _perm("User", "U2", "CanEdit"), {"name": "junk"}]
    assert share_keys(perms) == ["group:g1:canview", "tenant:t1:canview", "user:u2:canedit"]
    assert share_key(_perm("Robot", "R", "CanView")) is None


def test_keys_turn_back_into_share_requests() -> None:
    assert principal_of("group:g1:canview") == ({"type": "Group", "id": "g1"}, "CanView")
    assert principal_of("tenant:t1:canview") == ({"type": "Tenant", "tenantId": "t1"}, "CanView")
    assert principal_of("user:u2:canedit") == ({"type": "User", "id": "u2"}, "CanEdit")
    assert principal_of("nonsense") is None
    assert principal_of("group::canview") is None
