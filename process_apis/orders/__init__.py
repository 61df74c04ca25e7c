"""Orders process API: takes canonical orders in, validates them against the ERP and runs the order
flow (price, reserve, sales order, activity) across the system APIs in a background worker."""
