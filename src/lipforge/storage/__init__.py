"""Where asset and output bytes live: the local data dir (default) or an S3-compatible bucket.

`open_storage(settings)` gives the one `Storage` the settings name (`LIPFORGE_STORAGE_URL`:
empty for the data dir, `s3://bucket/prefix` for a bucket); callers speak in keys
(`assets/<id>.mp4`, `outputs/<batch>/<name>.mp4`) and never branch on the backend.
`cache.InputCache` keeps a worker's downloaded inputs, bounded by size (LRU). This room
does not know about assets, jobs or HTTP.

Uploads still arrive by tus into the API machine's `uploads/`; a finished upload is probed
and hashed there and then moved into the store (`assets.library.ingest_file` ->
`put_file(move=True)`: a parallel multipart upload with a bucket). Streaming tus chunks
straight into an S3 multipart upload was rejected: tus chunks have any size while S3 parts
need 5 MiB (except the last), a chunk cut short by a crash is truncated back to its last
verified byte while a part cannot be shortened, concatenation would need server-side
copies, and the media check needs the whole file locally anyway (an MP4's index is often
at its end). The cost is room for the uploads in flight on the API machine.
"""
