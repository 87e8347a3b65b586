"""Edge agent: durable, offline-first ingest of LoRaWAN and local button events into SQLite."""
