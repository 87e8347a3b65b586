"""Buttons firmware bridge: GPIO buttons and serial button boxes onto the local MQTT bus."""
