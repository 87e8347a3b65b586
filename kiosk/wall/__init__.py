"""The wall: ``role = "wall"`` in ``kiosk.toml`` or ``a2d kiosk --wall``, a large public display
without touch that cycles calmly through the results of the current questions, the "Wann ist es
voll?" forecast and a short transparency notice (``docs/wall.md``).

One job per module; only :mod:`.settings`, :mod:`.questions`, :mod:`.model` and :mod:`.feed` are
free of Kivy (the kiosk's config reads :mod:`.settings` before Kivy is set up):

- :mod:`.settings`: the ``[wall]`` settings of ``kiosk.toml``;
- :mod:`.questions`: the current questions, the content pack's polls and the agent's live ones;
- :mod:`.feed`: reads the agent every ``wall.poll_s`` seconds, off the Kivy thread;
- :mod:`.model`: what each view says, as plain data (texts, numbers, percentages);
- :mod:`.widgets`, :mod:`.views`: the views drawn in Kivy, sized to the screen;
- :mod:`.screen`: the cycle, the fade and :meth:`.screen.WallScreen.draw_frame`;
- :mod:`.selftest`, :mod:`.measure`, :mod:`.demo`: ``a2d kiosk --wall --selftest OUT``.
"""
