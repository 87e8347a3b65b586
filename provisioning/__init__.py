"""Provisioning: both sides of putting a device into service (the admin's commands, the device's claim responder)."""
