"""The inbound boundary: request bodies in; validated values, or InvalidInput naming every bad field, out."""
