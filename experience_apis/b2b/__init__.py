"""The B2B experience API (issue 12): resellers' purchasing systems."""
