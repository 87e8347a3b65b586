"""Buttons firmware bridge: GPIO buttons and serial button boxes onto the local MQTT bus (to come: issue 5)."""
