"""The edge agent's local HTTP API for kiosks (the contract is :mod:`a2d.localapi`).

``LocalApi`` (in :mod:`.service`) is what the agent starts and stops; the endpoints live in
:mod:`.routes`, the stored data in :mod:`.votes` and :mod:`.helpdesk`, the zeroconf advert in
:mod:`.advert`.
"""
