"""Accounts: users and roles, sessions and API tokens, one permission table, the audit log.

The feature installs one request guard over the finished app (:mod:`.guard`): every
endpoint of every feature is looked up in :data:`.permissions.PERMISSIONS`; an endpoint
missing from the table is refused, never silently open.
"""
