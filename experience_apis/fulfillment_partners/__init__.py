"""The API of 3PL and drop-ship partners (port 8104): fulfilment requests, ASNs, return receipts, stock snapshots."""
