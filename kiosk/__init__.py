"""Kiosk: the Kivy touchscreen app for citizens and Lotsen."""
