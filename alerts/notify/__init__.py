"""Alert emails (issue #10): grouping, silences, acknowledgement links, escalation, an outbox.

``notifier`` decides what to send (Alertmanager-like groups, a persisted notification
log, silences) and enqueues rendered messages in ``risk_mail_outbox`` in the same
transaction as the state change that causes them; ``outbox`` drains the queue through a
real SMTP client (``smtp``) with backoff, recording every attempt.
"""
