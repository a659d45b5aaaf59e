"""Tapering plans: schedules of real, constructible doses at an agreed pace."""
