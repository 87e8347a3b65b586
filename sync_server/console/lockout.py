"""When repeated wrong passwords lock a login out: pure arithmetic, the time passed in.

Failures are counted per *subject*: the user name that was tried (whether or not such a user
exists, so a lockout tells nothing about who has an account) and the client address. The first
``allowed`` failures cost nothing; each one after that locks the subject for ``base_s`` seconds,
doubled with every further failure, at most ``max_s``. A subject's count is forgotten
``forget_s`` seconds after its last failure, and a user's (not an address's) on a good login.

>>> rule = Rule(allowed=5, base_s=30, max_s=3600, forget_s=86400)
>>> [rule.lock_seconds(n) for n in (1, 5, 6, 7, 8, 20)]
[0, 0, 30, 60, 120, 3600]
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    allowed: int = 5
    base_s: float = 30.0
    max_s: float = 3600.0
    forget_s: float = 86400.0

    def lock_seconds(self, failures: int) -> float:
        """How long the subject is locked after its ``failures``-th failure in a row."""
        over = failures - self.allowed
        if over <= 0:
            return 0
        return min(self.max_s, self.base_s * 2 ** min(over - 1, 30))


def user_subject(username: str) -> str:
    return "user:" + username.strip().lower()[:200]


def address_subject(address: str) -> str:
    return "addr:" + address
