"""When a site is open, and when its screens may rest: a library, no app.

A site's hours are written in OpenStreetMap's ``opening_hours`` syntax (``Mo-Fr 08:00-12:00;
PH off``), the convention that town staff can look up and that OpenStreetMap already holds for
many town halls. :mod:`sitehours.hours` evaluates it with the ``opening_hours`` library and the
public holidays of the site's region from the ``holidays`` library; :mod:`sitehours.screen` says
when a screen is dimmed or blank at night. The kiosk and the wall use it for their mode, the
sync server for its "should be open" alerts. Nothing is imported here.
"""
