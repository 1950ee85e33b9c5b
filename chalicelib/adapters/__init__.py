"""AWS and HTTP implementations of the ports. Each wraps an injected client and holds no business rules."""
