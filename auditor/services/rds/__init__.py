"""RDS instances and clusters: the models (model.py), the field tables (table.py), the live fetch (fetch.py)."""
