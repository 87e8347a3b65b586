"""Developer tools: the demo, the LoRaWAN simulator and its uplink encoders, the demo content pack.

For demos, tests and benchmarks on one machine, never for a device in the field: ``a2d demo``
(:mod:`devtools.demo`) runs the whole stack, ``a2d simulate`` (:mod:`devtools.simulate`) publishes
realistic ChirpStack and The Things Stack uplinks (:mod:`devtools.uplinks`); :mod:`devtools.demopack`
is the Offenburg demo content pack and :mod:`devtools.ports` finds free loopback ports. This package
imports no app: it drives them as processes through the ``a2d`` command, as an admin would. Only the
``a2d`` command (lazily), ``a2d kiosk`` run as the demo (for the demo pack), the tests and the
benchmarks import it.
"""
