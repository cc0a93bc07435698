"""Onboarding: a shop's existing customers, their balances and tiers, brought into Patron."""
