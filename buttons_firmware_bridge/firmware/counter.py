# The press counter, kept in a flash file so it survives power cuts and never repeats a number.
# To spare the flash, numbers are reserved BLOCK at a time: the file holds the highest number the
# box may have used; after a restart the box continues above it (a gap is harmless to the bridge).

import os

MODULO = 65536


class Counter:
    def __init__(self, path="counter.txt", block=16):
        self.path = path
        self.block = block
        self.last = self._load()
        self.reserved = self.last  # nothing of the new block is reserved yet
        self.writes = 0

    def _load(self):
        try:
            with open(self.path) as f:
                return int(f.read().strip()) % MODULO
        except (OSError, ValueError):
            return 0

    def _save(self, value):
        tmp = self.path + ".new"
        with open(tmp, "w") as f:
            f.write(f"{value}\n")
        os.rename(tmp, self.path)  # replaces the old file in one step (littlefs on the Pico)
        self.writes += 1

    def next(self):
        """The next sequence number; the flash holds a reservation covering it before it is used."""
        seq = (self.last + 1) % MODULO
        if self.last == self.reserved:
            self.reserved = (self.last + self.block) % MODULO
            self._save(self.reserved)
        self.last = seq
        return seq
