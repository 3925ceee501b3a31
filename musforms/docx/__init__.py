"""The Word pair: a writer of fillable .docx forms (content controls) and their reader."""
