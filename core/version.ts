/**
 * The core's own version, read from package.json (the one version source): plugins declare
 * the semver range of it they support in `manifest.core`.
 */
import pkg from '../package.json' with { type: 'json' }

export const CORE_VERSION: string = pkg.version
