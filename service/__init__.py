"""Opioid prescribing safety: a CDS Hooks 2.0 service."""
