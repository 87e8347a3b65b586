"""Kiosk: the Kivy touchscreen app for citizens and Lotsen (to come: issue 4)."""
