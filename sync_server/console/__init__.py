"""The town's console (``/console/``, staff) and the public pages (``/``, ``/register``,
``/opendata``): server-rendered HTML in the sync server's one process, on its one database.

:func:`.mount.mount` adds it all to the app. How to add a page: :mod:`.web` and docs/console.md.
The command line's ``a2d server user`` is :mod:`.user_commands` (it loads no web framework).
"""
