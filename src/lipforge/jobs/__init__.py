"""Jobs: batch and job tables, the queue (claim/lease/heartbeat/finish), the worker loop, the progress bus."""
