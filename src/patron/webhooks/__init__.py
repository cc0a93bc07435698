"""Signed webhooks (Standard Webhooks): endpoints subscribe to domain events, a handler queues
one delivery per matching endpoint in the event's dispatch unit of work, and a poller sends
them (HTTP POST, HMAC-SHA256 signature), retries for up to three days and disables an
endpoint that keeps failing. See ``docs/webhooks.md``."""
