"""Jobs: batch/job tables, the queue (claim, lease, heartbeat, finish), worker, event bus."""
