"""Fulfilment and returns (port 8203): shipment -> ERP invoice -> channel told; return -> receipt -> credit memo."""
