"""musforms: fillable MUS preparation forms (PDF and Word) and their collection."""

__version__ = "0.1.0"
