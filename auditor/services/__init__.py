"""Per AWS service: its models, where the API, Terraform and CloudFormation keep each property, its live fetch families and its document parsers. Below everything else; imports nothing above it."""
