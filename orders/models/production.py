"""Production breakdown: episodes, shots, takes, characters/assets. Models in __all__."""

__all__: list[str] = []
