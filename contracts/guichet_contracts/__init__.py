"""The only code two Guichet services share: message envelopes and schemas."""
