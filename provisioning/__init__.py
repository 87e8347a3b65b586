"""Provisioning: the admin CLI to enroll, claim, revoke and rotate devices (to come)."""
