"""What every leadlake model shares, whatever its domain: where models are kept, and how."""

from leadlake.ml.store import ModelStore, model_store

__all__ = ["ModelStore", "model_store"]
