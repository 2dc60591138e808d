from guichet_common.migrations import run_env
from guichet_notifications.models import metadata

run_env(metadata)
