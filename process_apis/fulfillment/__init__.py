"""process_apis.fulfillment: ship confirm -> ERP invoice -> channel notice; return -> receipt -> credit memo."""
