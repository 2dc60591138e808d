"""The Guichet service chassis. No domain code lives here."""

import warnings

# nameko 2 runs on eventlet by design; the deprecation banner is noise in every process.
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
