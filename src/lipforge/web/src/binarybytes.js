// Stands in for @transloadit/prettier-bytes inside Uppy (build.mjs aliases it here), so
// the upload panel writes sizes like the rest of the page and the CLI: binary units (MiB).

import { formatBytes } from "./i18n.js";

export function prettierBytes(bytes) {
  return formatBytes(bytes);
}

export default prettierBytes;
