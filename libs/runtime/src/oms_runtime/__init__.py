"""Shared runtime code of every OMS service. Generic plumbing only: no domain rules live here."""
