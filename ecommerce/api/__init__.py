"""DRF plumbing shared by every app's views: the exception handler, pagination, permissions,
throttling, idempotency and OpenAPI helpers. Domain modules never import this package."""
