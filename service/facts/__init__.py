"""Facts: the typed, documented vocabulary that rule files may reference."""
