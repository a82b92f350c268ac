"""The HTTP API: auth, routes for assets, uploads, batches/jobs, events, models, health."""
