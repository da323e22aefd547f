"""S3 buckets: the model (model.py), the live fetch (fetch.py), bucket policies (policy.py)."""
