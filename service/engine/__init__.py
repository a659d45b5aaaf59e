"""The rules engine: rule definitions (loaded from rules/), pure evaluation, card rendering."""
