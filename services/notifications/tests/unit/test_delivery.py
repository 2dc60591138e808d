"""Statuses, failures, retries with backoff, channel choice, rate limits."""
import random
from datetime import datetime, timedelta, timezone

import pytest

from guichet_common.transitions import IllegalTransition
from guichet_notifications.domain.delivery import (
    ContactPoints,
    NoChannel,
    PermanentFailure,
    RetryPolicy,
    TemporaryFailure,
    as_failure,
    can_transition,
    check_transition,
    choose_channel,
    redact,
)
from guichet_notifications.domain.delivery import (
    NotificationStatus as S,
)
from guichet_notifications.domain.rate_limit import RateLimiter

NOW = datetime(2026, 11, 25, 13, 30, tzinfo=timezone.utc)


# --- statuses -----------------------------------------------------------------------

def test_notify_vocabulary():
    assert [s.value for s in S] == ["created", "sending", "delivered", "sent", "temporary-failure",
                                    "permanent-failure", "technical-failure"]
    assert f"{S.TEMPORARY_FAILURE}" == "temporary-failure"


@pytest.mark.parametrize("current, new", [
    ("created", "sending"), ("created", "sent"), ("created", "delivered"), ("created", "temporary-failure"),
    ("created", "permanent-failure"), ("created", "technical-failure"),
    ("sending", "delivered"), ("sending", "permanent-failure"), ("sending", "temporary-failure"),
    ("temporary-failure", "sent"), ("temporary-failure", "temporary-failure"),
    ("temporary-failure", "permanent-failure"), ("temporary-failure", "created"),
    ("sent", "permanent-failure"), ("sent", "delivered"), ("delivered", "permanent-failure"),
    ("technical-failure", "created"),
])
def test_allowed_transitions(current, new):
    assert can_transition(current, new)
    assert check_transition(current, new) == S(new)


@pytest.mark.parametrize("current, new", [
    ("delivered", "sending"), ("delivered", "created"), ("sent", "sending"), ("sending", "created"),
    ("sending", "sent"), ("permanent-failure", "created"), ("permanent-failure", "sending"),
    ("technical-failure", "sending"), ("created", "created"),
])
def test_forbidden_transitions(current, new):
    assert not can_transition(current, new)
    with pytest.raises(IllegalTransition):
        check_transition(current, new)


def test_permanent_failure_is_final():
    assert all(not can_transition(S.PERMANENT_FAILURE, s) for s in S)



def test_redact_removes_personal_data():
    text = redact("550 5.1.1 <jean.dupont@example.fr>: Recipient address rejected; call +33 6 12 34 56 78 "
                  "or 06.12.34.56.78 on 2026-11-25")
    assert "jean" not in text and "12 34" not in text and "06.12" not in text
    assert "<adresse>" in text and "<numéro>" in text and "2026-11-25" in text


def test_any_other_exception_is_a_technical_failure():
    failure = PermanentFailure("invalid_phone_number")
    assert as_failure(failure) is failure
    assert as_failure(KeyError("bug")).code == "unexpected_error"


# --- retries --------------------------------------------------------------------------

def test_backoff_schedule():
    policy = RetryPolicy()
    assert policy.schedule() == [30, 90, 270, 810, 2430, 3600, 3600]
    assert sum(policy.schedule()) == 10830  # about 3 hours between the first and the last attempt


def test_jitter_stays_within_bounds_and_varies():
    policy = RetryPolicy(rng=random.Random(42))
    delays = [policy.delay(2) for _ in range(200)]
    assert all(72 <= d <= 108 for d in delays)
    assert len(set(delays)) > 100
    assert RetryPolicy(jitter=0).delay(3) == 270


def test_retry_after_is_a_floor():
    policy = RetryPolicy(jitter=0)
    assert policy.delay(1, retry_after=600) == 600
    assert policy.delay(4, retry_after=5) == 810


def test_decide_temporary_failure_is_retried_until_max_attempts():
    policy = RetryPolicy(max_attempts=3, jitter=0)
    first = policy.decide(TemporaryFailure("smtp_temporary", "451 greylisted"), 1, NOW)
    assert first.retry and first.status == S.TEMPORARY_FAILURE
    assert first.retry_at == NOW + timedelta(seconds=30)
    second = policy.decide(TemporaryFailure("provider_unavailable", retry_after=120), 2, NOW)
    assert second.retry_at == NOW + timedelta(seconds=120)
    last = policy.decide(TemporaryFailure("timeout"), 3, NOW)
    assert not last.retry and last.status == S.TEMPORARY_FAILURE and "3 tentatives" in last.reason


def test_decide_permanent_and_technical_failures_are_not_retried():
    policy = RetryPolicy()
    permanent = policy.decide(PermanentFailure("smtp_rejected", "550 unknown"), 1, NOW)
    assert not permanent.retry and permanent.status == S.PERMANENT_FAILURE
    technical = policy.decide(ZeroDivisionError("bug"), 1, NOW)
    assert not technical.retry and technical.status == S.TECHNICAL_FAILURE


def test_invalid_policy():
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError):
        RetryPolicy(jitter=1.5)


# --- channel choice -----------------------------------------------------------------------

BOTH = ("email", "sms")
FULL = dict(email="jean@example.fr", phone_mobile="06 12 34 56 78")


@pytest.mark.parametrize("preference, channel, address", [
    ("email", "email", "jean@example.fr"),
    ("sms", "sms", "+33612345678"),
    ("phone", "email", "jean@example.fr"),
])
def test_preference_is_honoured(preference, channel, address):
    choice = choose_channel(BOTH, ContactPoints(**FULL, preference=preference))
    assert (choice.channel, choice.address) == (channel, address)
    assert choice.reason == f"preference:{preference}"


def test_security_mails_always_go_by_email():
    choice = choose_channel(("email",), ContactPoints(**FULL, preference="sms"), security=True)
    assert (choice.channel, choice.reason) == ("email", "security")
    with pytest.raises(NoChannel) as info:
        choose_channel(("email",), ContactPoints(phone_mobile="0612345678", preference="sms"), security=True)
    assert info.value.code == "no_email_address" and isinstance(info.value, PermanentFailure)


def test_fallbacks():
    no_mobile = ContactPoints(email="jean@example.fr", phone_mobile="03 20 65 46 00", preference="sms")
    assert choose_channel(BOTH, no_mobile).channel == "email"
    assert choose_channel(BOTH, no_mobile).reason == "fallback:email"
    no_email = ContactPoints(phone_mobile="0612345678", preference="email")
    assert choose_channel(BOTH, no_email).channel == "sms"
    # a mobile number given as the personal phone is found
    personal = ContactPoints(phone_personal="07 81 23 45 67", preference="sms")
    assert choose_channel(BOTH, personal).address == "+33781234567"


def test_template_channels_limit_the_choice():
    assert choose_channel(("email",), ContactPoints(**FULL, preference="sms")).channel == "email"
    assert choose_channel(("sms",), ContactPoints(**FULL, preference="email")).channel == "sms"
    with pytest.raises(NoChannel) as info:
        choose_channel(("sms",), ContactPoints(email="jean@example.fr", preference="sms"))
    assert info.value.code == "no_mobile_number"
    with pytest.raises(NoChannel) as info:
        choose_channel(("email",), ContactPoints(phone_mobile="0612345678"))
    assert info.value.code == "no_email_address"
    with pytest.raises(NoChannel) as info:
        choose_channel(BOTH, ContactPoints(preference="phone"))
    assert info.value.code == "no_contact_address"


def test_forced_channel():
    assert choose_channel(BOTH, ContactPoints(**FULL), forced="sms").channel == "sms"
    with pytest.raises(NoChannel) as info:
        choose_channel(("email",), ContactPoints(**FULL), forced="sms")
    assert info.value.code == "channel_not_in_template"
    with pytest.raises(NoChannel) as info:
        choose_channel(BOTH, ContactPoints(email="jean@example.fr"), forced="sms")
    assert info.value.code == "no_mobile_number"


def test_foreign_mobile_needs_the_town_setting():
    belgian = ContactPoints(email="jean@example.fr", phone_mobile="+32 470 12 34 56", preference="sms")
    assert choose_channel(BOTH, belgian).channel == "email"
    assert choose_channel(BOTH, belgian, allow_international=True).address == "+32470123456"


def test_unknown_preference():
    with pytest.raises(ValueError):
        ContactPoints(preference="pigeon")


# --- rate limiter ---------------------------------------------------------------------

class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def test_token_bucket():
    clock = FakeClock()
    limiter = RateLimiter(rate=1, capacity=2, clock=clock)
    assert limiter.try_acquire() and limiter.try_acquire()
    assert not limiter.try_acquire()
    assert limiter.wait_time() == pytest.approx(1.0)
    clock.now += 0.5
    assert not limiter.try_acquire() and limiter.wait_time() == pytest.approx(0.5)
    clock.now += 0.5
    assert limiter.try_acquire()
    clock.now += 3600
    assert limiter.tokens == 2  # never more than the capacity


def test_rate_limiter_sustained_rate():
    clock = FakeClock()
    limiter = RateLimiter(rate=10, capacity=5, clock=clock)
    sent = 0
    for _ in range(1000):  # 10 seconds in 10 ms steps
        while limiter.try_acquire():
            sent += 1
        clock.now += 0.01
    assert 100 <= sent <= 106  # burst of 5 + 10 per second


def test_acquire_waits_with_the_injected_sleep():
    clock = FakeClock()
    limiter = RateLimiter(rate=2, capacity=1, clock=clock)
    assert limiter.acquire(sleep=clock.sleep)
    assert limiter.acquire(sleep=clock.sleep)
    assert clock.now == pytest.approx(1000.5)
    assert not limiter.acquire(timeout=0.1, sleep=clock.sleep)


def test_rate_limiter_arguments():
    with pytest.raises(ValueError):
        RateLimiter(rate=0)
    with pytest.raises(ValueError):
        RateLimiter(rate=1, capacity=1).try_acquire(2)
