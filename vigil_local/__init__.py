"""The embedded default: moto, the resources from infra/, and the local servers."""
