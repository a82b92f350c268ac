"""Where asset and output bytes live: the local data dir (default) or an S3-compatible bucket.

`open_storage(settings)` gives the one `Storage` the settings name (`LIPFORGE_STORAGE_URL`:
empty for the data dir, `s3://bucket/prefix` for a bucket); callers speak in keys
(`assets/<id>.mp4`, `outputs/<batch>/<name>.mp4`) and never branch on the backend.
`cache.InputCache` keeps a worker's downloaded inputs, bounded by size (LRU). This room
does not know about assets, jobs or HTTP.
"""
