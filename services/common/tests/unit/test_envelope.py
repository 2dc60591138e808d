import pytest

from guichet_contracts.envelope import InvalidEnvelope, amqp_properties, check_envelope, make_envelope


def test_envelope_has_the_cloudevents_attributes_and_extensions():
    message = make_envelope(type="fr.guichet.accounts.account.registered.v1", source="accounts",
                            data={"account_id": "a"}, subject="account/a", correlation_id="c", causation_id="e")
    assert check_envelope(message) is message
    assert message["source"] == "/guichet/accounts" and message["specversion"] == "1.0"
    assert message["correlationid"] == "c" and message["causationid"] == "e"
    props = amqp_properties(message)
    assert props["message_id"] == message["id"] and props["delivery_mode"] == 2
    assert props["content_type"] == "application/cloudevents+json"


@pytest.mark.parametrize("message", [None, [], {"id": "x"}, {
    "specversion": "0.3", "id": "x", "source": "/s", "type": "t", "time": "t", "datacontenttype": "a", "data": {}}])
def test_malformed_envelopes_are_refused(message):
    with pytest.raises(InvalidEnvelope):
        check_envelope(message)
