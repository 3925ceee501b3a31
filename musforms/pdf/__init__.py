"""The PDF pair: a fillable AcroForm writer and a reader that returns what was typed."""
