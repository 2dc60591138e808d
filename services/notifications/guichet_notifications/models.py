"""Tables of the notifications service. Only this service reads or writes them."""
from guichet_common.db import messaging_tables, new_metadata

metadata = new_metadata()
outbox, inbox = messaging_tables(metadata)
