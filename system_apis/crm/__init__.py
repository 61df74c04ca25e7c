"""CRM system API: accounts, contacts and the activity timeline, canonical in and out."""
