"""The AI tool catalog (issue: production breakdown). Every model listed in __all__."""

__all__: list[str] = []
