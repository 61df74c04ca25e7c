"""WMS system API: warehouses, stock by SKU and warehouse, and stock reservations, canonical in
and out."""
