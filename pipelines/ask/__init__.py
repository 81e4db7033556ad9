"""Questions in plain language: QboIntent, its translation to QBO queries and warehouse SQL, the parser."""
