from guichet_common.migrations import run_env

from guichet_activities.models import metadata

run_env(metadata)
