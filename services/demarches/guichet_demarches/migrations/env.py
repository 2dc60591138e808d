from guichet_common.migrations import run_env
from guichet_demarches.models import metadata

run_env(metadata)
