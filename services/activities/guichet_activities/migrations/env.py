from guichet_activities.models import metadata
from guichet_common.migrations import run_env

run_env(metadata)
