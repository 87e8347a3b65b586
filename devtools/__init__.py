"""Developer tools: the demo, the LoRaWAN simulator and the uplink encoders behind it.

For demos, tests and benchmarks on one machine, never for a device in the field: ``a2d demo``
(:mod:`devtools.demo`) runs the whole stack, ``a2d simulate`` (:mod:`devtools.simulate`) publishes
realistic ChirpStack and The Things Stack uplinks (:mod:`devtools.uplinks`). This package imports no
app: it drives them as processes through the ``a2d`` command, as an admin would. Only the ``a2d``
command (lazily) and the tests import it.
"""
