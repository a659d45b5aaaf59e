"""The rule workbench (issue 16): list the rules and facts, explain why a hook request's
cards fired or stayed silent, and validate a draft rule with the checks start-up applies.

Layer 4: it composes the pipeline (layer 5) and the engine's explanation
(``service.engine.explain``); the HTTP side is ``service.api.routes_rules``.
"""
