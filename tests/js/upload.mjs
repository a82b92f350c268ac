// Uploads one file with tus-js-client (Node) for tests/uploads/test_tus_interop.py.
// Usage: node upload.mjs '<json options>'  with endpoint, file, chunkSize, parallel,
// stopAfterBytes (abort once that many bytes are confirmed), storage (URL storage file),
// headers (sent with every request, e.g. Authorization), retryDelays (ms between retries).
// Resumes a previous upload of the same file found in the storage. Prints one JSON line.
import * as fs from 'fs'
import { FileUrlStorage, Upload } from 'tus-js-client'

const options = JSON.parse(process.argv[2])
let stopping = false

function finish(result, code) {
  process.stdout.write(JSON.stringify(result) + '\n')
  process.exit(code)
}

// FileUrlStorage writes in the background: exit only once the resume URL is on disk.
async function storedUploads() {
  for (let attempt = 0; attempt < 100; attempt++) {
    try {
      const entries = JSON.parse(fs.readFileSync(options.storage, 'utf8'))
      if (Object.keys(entries).length > 0) return Object.keys(entries).length
    } catch {}
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return 0
}

const upload = new Upload(fs.createReadStream(options.file), {
  endpoint: options.endpoint,
  chunkSize: options.chunkSize,
  parallelUploads: options.parallel || 1,
  metadata: { filename: options.name || options.file.split('/').pop() },
  urlStorage: new FileUrlStorage(options.storage),
  storeFingerprintForResuming: true,
  removeFingerprintOnSuccess: true,
  headers: options.headers || {},
  retryDelays: options.retryDelays || [0, 200, 500],
  onProgress(bytesUploaded) {
    if (options.stopAfterBytes && bytesUploaded >= options.stopAfterBytes && !stopping) {
      stopping = true
      upload
        .abort()
        .then(storedUploads)
        .then((stored) => finish({ aborted: true, bytes: bytesUploaded, url: upload.url, stored }, 0))
    }
  },
  onSuccess() {
    finish({ url: upload.url }, 0)
  },
  onError(error) {
    finish({ error: String(error) }, 1)
  },
})

const previous = await upload.findPreviousUploads()
if (previous.length > 0) {
  upload.resumeFromPreviousUpload(previous[0])
}
upload.start()
