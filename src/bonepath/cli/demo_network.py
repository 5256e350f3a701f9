"""The demo's regional MDT network (issue 16 item 4): a centre, two county hospitals, accounts.

``bonepath demo`` calls :func:`demo_network` after the cohort is imported: the synthetic
cohort's tier-1/2 cancer hospital ``H15`` becomes the regional centre of network ``N-DEMO``
and two tier-3/4 general hospitals (``H23``, ``H24``) its members; one clinician account per
side (``demo-centre`` granted H15, ``demo-county-h23`` / ``demo-county-h24`` granted their
hospital) shows the referral, the centre's de-identified view and the acceptance.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from bonepath.store.repository import Store

DEMO_NETWORK: Final = "N-DEMO"
DEMO_CENTRE: Final = "H15"
DEMO_COUNTIES: Final = ("H23", "H24")
DEMO_NETWORK_NAME: Final = "示例区域骨转移MDT协作网络"


def demo_network(store: Store) -> list[tuple[str, str, str]]:
    """Register the network and create (or reset) its accounts; returns (user, role, password)."""
    from bonepath.errors import InputError
    from bonepath.store import accounts, network
    from bonepath.store.hospitals import list_hospitals, save_hospital
    from bonepath.synth import DEFAULT_PARAMS

    known = {h.id for h in list_hospitals(store.engine) if h.registered}
    for spec in DEFAULT_PARAMS.hospitals:
        if spec.id in (DEMO_CENTRE, *DEMO_COUNTIES) and spec.id not in known:
            save_hospital(
                store.engine, spec.id, spec.name, city_tier=spec.city_tier, type=spec.type
            )
    network.save_network(store.engine, DEMO_NETWORK, DEMO_NETWORK_NAME, DEMO_CENTRE)
    for county in DEMO_COUNTIES:
        network.add_member(store.engine, DEMO_NETWORK, county)
    logins = []
    for username, grant in (
        ("demo-centre", DEMO_CENTRE),
        *((f"demo-county-{c.lower()}", c) for c in DEMO_COUNTIES),
    ):
        password = secrets.token_urlsafe(9)
        try:
            accounts.create_user(store.engine, username, password, "clinician", [grant])
        except InputError:  # a previous demo run created it: new password
            accounts.set_password(store.engine, username, password)
        logins.append((username, "clinician", password))
    return logins
